// Schema pieces shared by every API resource: Docker's ways of writing values in query strings.
import { z } from 'zod';

/** Docker's booleans in query strings: 1/true/True/yes are true, 0/false/empty are false. */
export const queryBool = z
  .union([z.string(), z.array(z.string())])
  .transform((v, ctx) => {
    const s = (Array.isArray(v) ? v[v.length - 1]! : v).toLowerCase();
    if (s === '1' || s === 'true' || s === 'yes' || s === 'on') return true;
    if (s === '0' || s === 'false' || s === 'no' || s === 'off' || s === '') return false;
    ctx.addIssue({ code: 'custom', message: `invalid boolean value "${s}"` });
    return z.NEVER;
  });
