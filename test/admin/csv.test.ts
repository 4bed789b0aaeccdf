import { describe, expect, it } from 'vitest';
import { csvLine, parseCsv } from '../../src/admin/csv.js';

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, numbering records by their first line', () => {
    const { records, errors } = parseCsv('\ufeffa,b\r\n"x, y","say ""hi"""\n\n"two\nlines",z\nlast,row');
    expect(errors).toEqual([]);
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x, y', 'say "hi"'] },
      { line: 4, fields: ['two\nlines', 'z'] },
      { line: 6, fields: ['last', 'row'] },
    ]);
  });

  it('reports a broken quote with its line and carries on with the next line', () => {
    const { records, errors } = parseCsv('a,b\n"bad"x,1\nok,2\n"open,3');
    expect(errors).toEqual(['line 2: text after a closing quote', 'line 4: unterminated quoted field']);
    expect(records.map((r) => r.line)).toEqual([1, 3]);
  });

  it('quotes only the fields that need it', () => {
    expect(csvLine(['plain', 12, 'a,b', 'say "hi"', 'two\nlines'])).toBe('plain,12,"a,b","say ""hi""","two\nlines"');
    expect(parseCsv(csvLine(['a,b', 'say "hi"'])).records[0]?.fields).toEqual(['a,b', 'say "hi"']);
  });
});
