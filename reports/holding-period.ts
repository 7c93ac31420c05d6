/**
 * Holding period, as the IRS instructions for Schedule D / Pub. 544 count it: the period starts
 * the day AFTER the acquisition date and includes the day of sale; property held one year or less
 * is short-term, more than one year long-term. Dates are the UTC calendar dates of the fills' ts.
 *
 * "More than one year" = sold on or after the same month and day, one year after the day the
 * period started. A start on February 29 rolls to March 1 of the next year, which is also what
 * the rule for a purchase on the last day of a month gives (hold until the first day of the 13th
 * month): bought 2023-02-28 → long-term from 2024-03-01, so a sale on 2024-02-29 is short-term.
 */
export type HoldingTerm = 'short' | 'long';

const DAY_MS = 86_400_000;

/** Start of the UTC calendar day of ts, in epoch ms. */
export const utcDay = (ts: number): number => Math.floor(ts / DAY_MS) * DAY_MS;

/** YYYY-MM-DD of the UTC calendar day. */
export const utcDate = (ts: number): string => new Date(utcDay(ts)).toISOString().slice(0, 10);

export const utcYear = (ts: number): number => new Date(ts).getUTCFullYear();

/** First UTC day (epoch ms) on which a sale of property acquired at `acquiredTs` is long-term. */
export function longTermFrom(acquiredTs: number): number {
  const start = new Date(utcDay(acquiredTs) + DAY_MS);
  // Date.UTC normalises Feb 29 of a common year to Mar 1: the roll the comment above describes.
  return Date.UTC(start.getUTCFullYear() + 1, start.getUTCMonth(), start.getUTCDate());
}

export function holdingTerm(acquiredTs: number, soldTs: number): HoldingTerm {
  return utcDay(soldTs) >= longTermFrom(acquiredTs) ? 'long' : 'short';
}
