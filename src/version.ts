// The product version, shown by `tidings version`, in greetings and in the ID response.
export const VERSION = '0.1.0';
export const PRODUCT = 'Tidings';
