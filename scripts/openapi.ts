// npm run openapi: writes openapi/berth.json from the route table.
import { readFileSync, writeFileSync } from 'node:fs';
import { allRoutes } from '../src/api/routes.ts';
import { openApiText } from './openapi-doc.ts';

const root = new URL('..', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
writeFileSync(new URL('openapi/berth.json', root), await openApiText(allRoutes, pkg.version));
console.log(`wrote openapi/berth.json (${allRoutes.length} operations)`);
