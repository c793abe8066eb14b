//! Device models of the `virt` machine, each an [`MmioDevice`](crate::system::bus::MmioDevice)
//! (except the generic timer, which is per-vCPU system-register state): the GICv2
//! interrupt controller, the PL011 UART, the PL031 RTC and the generic timer.

pub mod gic;
pub mod pl011;
pub mod pl031;
pub mod timer;
