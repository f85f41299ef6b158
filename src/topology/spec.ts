import { PeerlabError } from '../errors.js';
import { TOPOLOGY_FILE_EXTENSIONS } from './files.js';

export type ParamDeclaration = { kind: 'integer'; min: number; optional?: boolean } | { kind: 'probability'; optional?: boolean };

/** What a generator model accepts, enough to parse a spec and to explain it in a hint. */
export interface ModelSyntax {
  params: Record<string, ParamDeclaration>;
  example: string;
}

export interface GeneratorSpec {
  model: string;
  params: Record<string, number | undefined>;
}

/** Parses `model:key=value,...` and types every value against the model's declarations. */
export function parseGeneratorSpec(spec: string, models: Record<string, ModelSyntax>): GeneratorSpec {
  const colon = spec.indexOf(':');
  const model = (colon === -1 ? spec : spec.slice(0, colon)).trim().toLowerCase();
  const syntax = models[model];
  if (!syntax) {
    throw new PeerlabError(`unknown topology model "${model}" in topology "${spec}"`, {
      hint: `use one of ${Object.keys(models).join(', ')} (e.g. ring:n=10), or a file ending in ${TOPOLOGY_FILE_EXTENSIONS.join(', ')}`,
    });
  }
  const hint = describeModel(model, syntax);

  const given = new Map<string, string>();
  const body = colon === -1 ? '' : spec.slice(colon + 1).trim();
  for (const part of body === '' ? [] : body.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    if (eq === -1 || key === '') {
      throw new PeerlabError(`malformed parameter "${part}" in topology "${spec}": expected key=value`, { hint });
    }
    if (!(key in syntax.params)) throw new PeerlabError(`${model} has no parameter "${key}" (topology "${spec}")`, { hint });
    if (given.has(key)) throw new PeerlabError(`parameter ${key} is given twice in topology "${spec}"`, { hint });
    given.set(key, part.slice(eq + 1).trim());
  }

  const params: Record<string, number | undefined> = {};
  for (const [key, declaration] of Object.entries(syntax.params)) {
    const text = given.get(key);
    if (text === undefined) {
      if (!declaration.optional) throw new PeerlabError(`${model} needs parameter ${key} (topology "${spec}")`, { hint });
      continue;
    }
    const value = parseValue(text, declaration);
    if (value === undefined) {
      throw new PeerlabError(`${model} parameter ${key} must be ${describeParam(declaration)}, got "${text}" (topology "${spec}")`, {
        hint,
      });
    }
    params[key] = value;
  }
  return { model, params };
}

/** The hint attached to every error about one model, e.g. `ba takes n (an integer ≥ 2), m (an integer ≥ 1); e.g. ba:n=100,m=2`. */
export function describeModel(model: string, syntax: ModelSyntax): string {
  const params = Object.entries(syntax.params).map(
    ([key, declaration]) => `${key} (${declaration.optional ? 'optional ' : ''}${describeParam(declaration)})`,
  );
  return `${model} takes ${params.join(', ')}; e.g. ${syntax.example}`;
}

function describeParam(declaration: ParamDeclaration): string {
  return declaration.kind === 'integer' ? `an integer ≥ ${declaration.min}` : 'a probability in [0, 1]';
}

function parseValue(text: string, declaration: ParamDeclaration): number | undefined {
  if (declaration.kind === 'integer') {
    const value = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
    return Number.isSafeInteger(value) && value >= declaration.min ? value : undefined;
  }
  const value = text === '' ? NaN : Number(text);
  return value >= 0 && value <= 1 ? value : undefined;
}
