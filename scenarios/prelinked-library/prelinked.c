/* libprelinked.so: the same kind of library, linked at 0x47b30000 with
 * -Wl,-Ttext-segment (see scenario.yaml), the address where seed 002's
 * prelinked libc was mapped. A loader that honours link addresses (glibc,
 * when the main program is not a PIE) asks the kernel for exactly there. */
int archmatrix_prelinked_marker(void) { return 2; }
