//! Device models of the `virt` machine, each an [`MmioDevice`](crate::system::bus::MmioDevice)
//! (except the generic timer, which is per-vCPU system-register state): the GICv2
//! interrupt controller, the PL011 UART, the PL031 RTC and the generic timer.

pub mod gic;
pub mod pl011;
pub mod pl031;
pub mod timer;

#[cfg(test)]
mod tests {
    use super::gic::{Gic, CPU_IFACE_OFFSET, MMIO_SIZE};
    use super::pl011::{Pl011, INT_RX};
    use crate::system::bus::{lock, Bus, IrqLine};
    use std::sync::{Arc, Mutex};

    /// The `virt` wiring: the PL011 at 0x0900_0000 raises SPI 1 (INTID 33) into the GIC at
    /// 0x0800_0000, and the CPU takes it through the bus.
    #[test]
    fn uart_interrupt_reaches_the_cpu_through_the_bus() {
        let gic = Arc::new(Mutex::new(Gic::new(1)));
        let uart = Arc::new(Mutex::new(Pl011::new(
            Box::new(std::io::sink()),
            Some(IrqLine::new(gic.clone(), 33)),
        )));
        let mut bus = Bus::new();
        bus.map(0x0800_0000, MMIO_SIZE, "gic", gic.clone()).unwrap();
        bus.map(0x0900_0000, 0x1000, "pl011", uart.clone()).unwrap();
        let gicc = 0x0800_0000 + CPU_IFACE_OFFSET;
        assert!(bus.write(0x0800_0000, 4, 1)); // GICD_CTLR
        assert!(bus.write(0x0800_0104, 4, 1 << 1)); // ISENABLER1: INTID 33
        assert!(bus.write(0x0800_0821, 1, 1)); // ITARGETSR: CPU 0
        assert!(bus.write(gicc, 4, 1)); // GICC_CTLR
        assert!(bus.write(gicc + 4, 4, 0xf0)); // GICC_PMR
        assert!(bus.write(0x0900_0038, 4, INT_RX as u64)); // UARTIMSC
        assert!(!lock(&gic).irq_asserted(0));
        lock(&uart).push_input(b"k");
        assert!(lock(&gic).irq_asserted(0));
        assert_eq!(bus.read(gicc + 0x0c, 4), Some(33)); // GICC_IAR
        assert_eq!(bus.read(0x0900_0000, 4), Some(b'k' as u64));
        assert!(bus.write(gicc + 0x10, 4, 33)); // GICC_EOIR
        assert!(!lock(&gic).irq_asserted(0));
        assert_eq!(bus.read(gicc + 0x0c, 4), Some(1023));
    }
}
