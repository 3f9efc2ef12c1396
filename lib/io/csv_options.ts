/**
 * The options of the CSV matrix readers, in their own module so that the
 * readers (`csv.ts`) and the shared record decoder (`_csv_rows.ts`) both
 * depend on it without depending on each other.
 * @module
 */

/** Options of `parseCsvMatrix` and `readCsvMatrix` (`csv.ts`). */
export interface CsvReadOptions {
  /**
   * Whether the first record is a header. `"auto"` (default): it is a header
   * when any of its cells is not a number (an empty cell counts as not a
   * number, so pandas' `,0,1,2` header is recognised).
   */
  header?: "auto" | boolean;
  /**
   * Whether the first column is an index to drop. `"auto"` (default): true
   * when there is a header whose first cell is empty or `Unnamed: 0` (pandas'
   * layout), false otherwise.
   */
  indexColumn?: "auto" | boolean;
  /** Factor applied to every value, e.g. `1e-3` for mV → V. Default 1. */
  scale?: number;
  /** Field separator, one character. Default `","`. */
  delimiter?: string;
  /** Empty data cells: `"error"` (default) or `"nan"` (pandas writes NaN as empty). */
  missing?: "error" | "nan";
}
