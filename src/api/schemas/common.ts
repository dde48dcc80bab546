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

/**
 * Docker's `filters` query parameter: JSON, either `{"label":{"a=b":true}}` (the current form)
 * or `{"label":["a=b"]}` (the legacy form docker-py sends), as key → values.
 */
export const queryFilters = z
  .union([z.string(), z.array(z.string())])
  .transform((v, ctx) => {
    const s = Array.isArray(v) ? v[v.length - 1]! : v;
    if (s.trim() === '') return {} as Record<string, string[]>;
    let raw: unknown;
    try {
      raw = JSON.parse(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'invalid filter: not JSON' });
      return z.NEVER;
    }
    const out: Record<string, string[]> = {};
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      ctx.addIssue({ code: 'custom', message: 'invalid filter: expected a JSON object' });
      return z.NEVER;
    }
    for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
      if (Array.isArray(value)) out[key] = value.map(String);
      else if (value && typeof value === 'object') out[key] = Object.entries(value).filter(([, on]) => on).map(([k]) => k);
      else {
        ctx.addIssue({ code: 'custom', message: `invalid filter ${key}` });
        return z.NEVER;
      }
    }
    return out;
  });

/** A query parameter given once or repeated, as its last value. */
export const queryString = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v[v.length - 1]! : v));

/** A query parameter given once or repeated, as all its values. */
export const queryStringList = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : [v]));
