/* libcontrol.so: an ordinary shared library (link address 0), which the
 * loader lets the kernel place, next to the program's other libraries at the
 * top of the address space. */
int archmatrix_control_marker(void) { return 1; }
