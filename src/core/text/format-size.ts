/** Byte counts for people: `512 B`, `1.2 KiB`, `34 MiB` (binary steps, one decimal under 10). */

export const BINARY_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/** Formats `bytes` with the given names for 1024¹…1024⁴ (the listing uses KiB…, the UI KB…). */
export function formatSize(bytes: number, units: readonly string[] = BINARY_UNITS): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
