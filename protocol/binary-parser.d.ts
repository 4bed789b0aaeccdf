// binary-parser 2.3 ships types for its CommonJS build only; its ESM entry (what NodeNext
// resolves for `import`) has none. Same API, so point the ESM import at those types.
declare module 'binary-parser' {
  export { Parser } from 'binary-parser/dist/binary_parser.js';
}
