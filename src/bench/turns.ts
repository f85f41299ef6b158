/** One repetition of a side-by-side bench: which side went first, and what each measured. */
export interface Turn<Without, With> {
  readonly first: 'without' | 'with';
  readonly without: Without;
  readonly with: With;
}

/**
 * Runs both sides of a side-by-side bench `repetitions` times, in turns, alternating which side goes first, so
 * that drift in the machine's load (a slow engine warming up, another job starting) favours neither side.
 */
export async function inTurns<Without, With>(
  repetitions: number,
  sides: { without: (repetition: number) => Promise<Without>; with: (repetition: number) => Promise<With> },
): Promise<Array<Turn<Without, With>>> {
  const turns: Array<Turn<Without, With>> = [];
  for (let index = 0; index < repetitions; index++) {
    if (index % 2 === 0) {
      const without = await sides.without(index);
      turns.push({ first: 'without', without, with: await sides.with(index) });
    } else {
      const withSide = await sides.with(index);
      turns.push({ first: 'with', with: withSide, without: await sides.without(index) });
    }
  }
  return turns;
}

/** How much the second side grew over the first, in percent; undefined when either was not measured. */
export function growthPercent(without: number | undefined, withSide: number | undefined): number | undefined {
  return without === undefined || withSide === undefined ? undefined : (withSide / without - 1) * 100;
}
