/**
 * `await using` needs Symbol.asyncDispose, which Node adds from 18.18 and
 * 20.4; on older 18.x define it the way Node does so the same key works.
 */
declare global {
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}

if (typeof Symbol.asyncDispose !== "symbol") {
  Object.defineProperty(Symbol, "asyncDispose", { value: Symbol.for("nodejs.asyncDispose") });
}

export {};
