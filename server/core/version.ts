// Which build is running: the package version, and the commit scripts/build.ts stamps into an
// executable ("dev" from source).

import pkg from "../../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
/** Set at build time by scripts/build.ts (--define); "dev" when run from source. */
declare const BUNTY_COMMIT: string | undefined;
export const COMMIT: string = typeof BUNTY_COMMIT === "string" ? BUNTY_COMMIT : "dev";
