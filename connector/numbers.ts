/**
 * Counts as the connector's messages write them, the en-US way: "1,234,567".
 *
 * Number.prototype.toLocaleString('en-US') gives the same text, but the first Intl call of a process
 * loads ICU's locale data, ~20 ms of CPU, and every run writes counts in its summary.
 */

/** A whole number with its digits grouped by threes ("1,234,567"); any other number as en-US writes it. */
export function grouped(value: number): string {
  if (!Number.isSafeInteger(value)) return value.toLocaleString('en-US');
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  return sign + String(Math.abs(value)).replace(/\B(?=(\d{3})+$)/g, ',');
}
