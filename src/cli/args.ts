import { Args } from '@oclif/core';
import { parseRunId, type RunId } from '../util/names.js';

/** A run id argument, checked as oclif parses it: a command never sees a name that could leave peerlab's folders. */
export const runIdArg = (description: string, required = false) =>
  Args.custom<RunId>({
    description,
    required,
    parse: async (text) => parseRunId(text, 'the run argument', 'see `peerlab status` for the ids of the runs that are up'),
  })();
