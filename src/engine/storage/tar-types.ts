// Tar entry type flags (POSIX ustar/pax), shared by the layer reader and writer.
export const T_REG = 0x30;
export const T_LINK = 0x31;
export const T_SYMLINK = 0x32;
export const T_CHR = 0x33;
export const T_BLK = 0x34;
export const T_DIR = 0x35;
export const T_FIFO = 0x36;
export const T_CONT = 0x37;
export const T_PAX = 0x78; // x
