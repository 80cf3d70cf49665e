//! Real QEMU replay (filled in by the QEMU replay work).
