/**
 * Does nothing: the handler for a promise whose failure is reported
 * elsewhere (or whose outcome no one needs), so that it never surfaces as
 * an unhandled rejection. One shared function, not a closure per call.
 */
export function ignore(): void {}
