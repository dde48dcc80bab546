// berth's own version and build facts; esbuild replaces the constants at build time.
declare const __BERTH_VERSION__: string | undefined;
declare const __BERTH_COMMIT__: string | undefined;
declare const __BERTH_BUILD_TIME__: string | undefined;

export const BERTH_VERSION = typeof __BERTH_VERSION__ === 'string' ? __BERTH_VERSION__ : '0.1.0-dev';
export const BERTH_COMMIT = typeof __BERTH_COMMIT__ === 'string' ? __BERTH_COMMIT__ : 'unknown';
export const BERTH_BUILD_TIME = typeof __BERTH_BUILD_TIME__ === 'string' ? __BERTH_BUILD_TIME__ : '';
