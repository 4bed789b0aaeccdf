/**
 * CSV as RFC 4180 has it: comma-separated, fields optionally in double quotes (a quote inside is
 * doubled), records ending in LF or CRLF. Quoted fields let a holder name carry a comma.
 */

export interface CsvRecord {
  /** 1-based line on which the record starts, for error messages. */
  line: number;
  fields: string[];
}

/** Splits text into records; a malformed quote is reported as an error with its line. */
export function parseCsv(text: string): { records: CsvRecord[]; errors: string[] } {
  const records: CsvRecord[] = [];
  const errors: string[] = [];
  let line = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark from spreadsheet exports
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let broken = false;
    for (;;) {
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= text.length) {
            errors.push(`line ${start}: unterminated quoted field`);
            broken = true;
            break;
          }
          const ch = text[i]!;
          if (ch === '"' && text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else if (ch === '"') {
            i++;
            break;
          } else {
            if (ch === '\n') line++;
            field += ch;
            i++;
          }
        }
        if (!broken && i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          errors.push(`line ${line}: text after a closing quote`);
          broken = true;
        }
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') field += text[i++];
      }
      if (broken) break;
      fields.push(field);
      field = '';
      if (text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (broken) {
      // Skip to the end of this line and carry on, so every bad line is reported in one pass.
      while (i < text.length && text[i] !== '\n') i++;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    line++;
    if (!broken && !(fields.length === 1 && fields[0] === '')) records.push({ line: start, fields });
  }
  return { records, errors };
}

/** One field for output: quoted when it holds a comma, quote or line break. */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: Array<string | number>): string {
  return values.map(csvField).join(',');
}
