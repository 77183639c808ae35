/** See native-advice.mjs. */
export const NATIVE_MISSING_COST: string;
export const COMPILER_INSTALL: { linux: string; darwin: string; win32: string };
