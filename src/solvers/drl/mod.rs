//! The proposed DRL scheme (`drl`): a learned policy for the discrete decisions and an
//! exact packing subroutine for RBs and compute units.

pub mod construct;
pub mod packer;
