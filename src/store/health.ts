/**
 * A terminal's health (PROTOCOL.md §3.2) as the terminal hash keeps it, `signal:power:battery:printer`
 * in the wire's numbers, and the names the fleet view, the console and the metrics give it.
 */
import { GSM_SIGNAL_UNKNOWN, GSM_SIGNAL_WEAK_BELOW, PowerSource, PrinterState } from '../../protocol/constants.js';
import type { TerminalHealth } from '../../protocol/messages.js';

export function formatHealth(h: TerminalHealth): string {
  return `${h.signal}:${h.power}:${h.battery}:${h.printer}`;
}

/** The stored form back, or null when there is none (never a heartbeat since the upgrade) or it does not read. */
export function parseHealth(stored: string | undefined | null): TerminalHealth | null {
  if (!stored) return null;
  const parts = stored.split(':').map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n))) return null;
  const [signal, power, battery, printer] = parts as [number, number, number, number];
  return { signal, power: power as PowerSource, battery, printer: printer as PrinterState };
}

export type SignalClass = 'weak' | 'ok' | 'unknown';

/** weak: under CSQ 10 (about -93 dBm), where GPRS drops and retransmits. */
export function signalClass(signal: number): SignalClass {
  if (signal === GSM_SIGNAL_UNKNOWN) return 'unknown';
  return signal < GSM_SIGNAL_WEAK_BELOW ? 'weak' : 'ok';
}

/** Printer state → name, lower case with dashes as operators type them (`paper-out`). */
export const PRINTER_NAME: ReadonlyMap<number, string> = new Map(
  Object.entries(PrinterState).map(([name, code]) => [code, name.toLowerCase().replace(/_/g, '-')]),
);

export const POWER_NAME: ReadonlyMap<number, string> = new Map(
  Object.entries(PowerSource).map(([name, code]) => [code, name.toLowerCase()]),
);

/** The health as names, for JSON and CSV: signal in CSQ and its class, power, battery %, printer. */
export interface HealthView {
  signal: number | null;
  signalClass: SignalClass;
  power: string;
  battery: number | null;
  printer: string;
}

export function viewHealth(h: TerminalHealth): HealthView {
  return {
    signal: h.signal === GSM_SIGNAL_UNKNOWN ? null : h.signal,
    signalClass: signalClass(h.signal),
    power: POWER_NAME.get(h.power) ?? 'unknown',
    battery: h.battery > 100 ? null : h.battery,
    printer: PRINTER_NAME.get(h.printer) ?? 'unknown',
  };
}

/** One short phrase: `signal 18 ok, mains, battery 100%, printer ok`. */
export function healthText(v: HealthView): string {
  const signal = v.signal === null ? 'signal unknown' : `signal ${v.signal} ${v.signalClass}`;
  const battery = v.battery === null ? '' : `, battery ${v.battery}%`;
  return `${signal}, ${v.power}${battery}, printer ${v.printer}`;
}
