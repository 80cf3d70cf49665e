//! Real network replay (filled in by the network replay work).
