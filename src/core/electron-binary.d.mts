/** The downloaded Electron executable, or null (see electron-binary.mjs). */
export function electronBinary(): string | null;
