/**
 * What `zod` is inside node containers (see bundleForNodes). An algorithm module builds its parameter schema
 * when it loads, so chaining must work; but only the CLI validates, so validating here is a mistake worth a
 * clear error rather than a silent pass.
 */
const VALIDATORS = new Set(['parse', 'safeParse', 'parseAsync', 'safeParseAsync', 'decode', 'encode']);

function refuse(): never {
  throw new Error('zod does not run inside node containers: the CLI validates parameters; check messages by hand');
}

const inertSchema: unknown = new Proxy(function inert() {}, {
  get: (_target, property) => {
    // Not a thenable and no primitive conversion, so awaiting or printing a schema does nothing surprising.
    if (typeof property === 'symbol' || property === 'then') return undefined;
    return VALIDATORS.has(property) ? refuse : inertSchema;
  },
  apply: () => inertSchema,
});

export const z = inertSchema;
export default inertSchema;
