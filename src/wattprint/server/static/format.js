// Numbers for people, the same way the CLI writes them: a port of wattprint/_format.py
// (format_energy, format_mass, format_water, format_money, format_duration, format_power,
// format_number). One unit ladder per quantity, 3 significant figures, thousands
// separators, never scientific notation; Python's round() (half-even on the exact binary
// value) is reproduced with BigInt so the dashboard and `wattprint show` print the same
// text (tests/test_dashboard_browser.py compares both on many values).

const step = (size, unit, start = 0, singular = "") => ({ size, unit, start, singular,
  threshold: start || size });

export const ENERGY_STEPS = [step(1, "J"), step(3.6e3, "Wh"), step(3.6e6, "kWh"),
  step(3.6e9, "MWh"), step(3.6e12, "GWh"), step(3.6e15, "TWh")];
export const POWER_STEPS = [step(1, "W"), step(1e3, "kW"), step(1e6, "MW"), step(1e9, "GW")];
export const DURATION_STEPS = [step(1, "s"), step(60, "min"), step(3600, "h"),
  step(86400, "days", 0, "day"), step(31557600, "years", 2 * 31557600, "year")];
export const MASS_STEPS = [step(1e-3, "mg"), step(1, "g"), step(1e3, "kg"), step(1e6, "t"),
  step(1e9, "kt"), step(1e12, "Mt")];
export const WATER_STEPS = [step(1e-3, "mL"), step(1, "L"), step(1e3, "m³")];
const NUMBER_STEPS = [step(1, "")];

const SMALLEST = 1e-6;
const WORDS = [[1e6, "million"], [1e9, "billion"], [1e12, "trillion"]];
const CAP = 1e15;

// --- exact decimal arithmetic on doubles ---------------------------------------------------

// The exact value of a finite double v >= 0 as [digits (BigInt), scale]: v = digits / 10^scale.
function exactDecimal(v) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const hi = view.getUint32(0), lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp2;
  if (biased === 0) { exp2 = -1074; } else { mantissa |= 1n << 52n; exp2 = biased - 1075; }
  if (exp2 >= 0) return [mantissa << BigInt(exp2), 0];
  return [mantissa * 5n ** BigInt(-exp2), -exp2];
}

// Python's round(v, ndigits) for finite v >= 0: correctly rounded, ties to even.
export function pyRound(v, ndigits) {
  const [digits, scale] = exactDecimal(v);
  const drop = scale - ndigits;  // decimal places to remove
  if (drop <= 0) return v;
  const unit = 10n ** BigInt(drop);
  let q = digits / unit;
  const r = digits % unit;
  const twice = 2n * r;
  if (twice > unit || (twice === unit && q % 2n === 1n)) q += 1n;
  // q * 10^-ndigits, parsed back from its decimal text (as Python does)
  const text = ndigits >= 0 ? `${q}e-${ndigits}` : `${q}e${-ndigits}`;
  return parseFloat(text);
}

// Python's f"{v:,.{decimals}f}" for finite v >= 0.
function fixed(v, decimals) {
  const [digits, scale] = exactDecimal(v);
  let q = digits;
  const drop = scale - decimals;
  if (drop > 0) {
    const unit = 10n ** BigInt(drop);
    q = digits / unit;
    const twice = 2n * (digits % unit);
    if (twice > unit || (twice === unit && q % 2n === 1n)) q += 1n;
  } else if (drop < 0) {
    q = digits * 10n ** BigInt(-drop);
  }
  let s = q.toString().padStart(decimals + 1, "0");
  const whole = s.slice(0, s.length - decimals), frac = s.slice(s.length - decimals);
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return decimals ? `${grouped}.${frac}` : grouped;
}

function roundSig(v, digits) {
  return pyRound(v, digits - 1 - Math.floor(Math.log10(v)));
}

function plain(v, digits, minDecimals = 0) {
  if (v === 0) return minDecimals ? fixed(0, minDecimals) : "0";
  const decimals = Math.max(minDecimals, digits - 1 - Math.floor(Math.log10(v)));
  let text = fixed(v, decimals);
  if (text.includes(".") && decimals > minDecimals) {
    let [whole, frac] = text.split(".");
    frac = frac.replace(/0+$/, "");
    if (frac.length < minDecimals) frac = frac.padEnd(minDecimals, "0");
    text = frac ? `${whole}.${frac}` : whole;
  }
  return text;
}

function words(v, unit, digits) {
  let index = 0;
  WORDS.forEach(([size], i) => { if (v >= size) index = i; });
  while (v < CAP) {
    const [size, word] = WORDS[index];
    const scaled = roundSig(v / size, digits);
    if (scaled < 1000 || index + 1 === WORDS.length) {
      return `${plain(scaled, digits)} ${word} ${unit}`;
    }
    index += 1;
  }
  const [lastSize, lastWord] = WORDS[WORDS.length - 1];
  return `> ${plain(CAP / lastSize, digits)} ${lastWord} ${unit}`;
}

const finite = (v) => typeof v === "number" && Number.isFinite(v);

export function formatScaled(value, steps, { digits = 3, missing = "unknown" } = {}) {
  if (!finite(value)) return missing;
  if (value < 0) {
    const text = formatScaled(-value, steps, { digits, missing });
    if (text.startsWith("< ")) return "> -" + text.slice(2);
    if (text.startsWith("> ")) return "< -" + text.slice(2);
    return "-" + text;
  }
  if (value === 0) {
    const base = steps.find((s) => s.size === 1) || steps[0];
    return `0 ${base.unit}`;
  }
  let index = 0;
  steps.forEach((s, i) => { if (value >= s.threshold) index = i; });
  const last = steps.length - 1;
  if (index === last && value / steps[index].size >= WORDS[0][0]) {
    return words(value / steps[index].size, steps[index].unit, digits);
  }
  let scaled;
  for (;;) {
    scaled = roundSig(value / steps[index].size, digits);
    if (index + 1 < steps.length && scaled * steps[index].size >= steps[index + 1].threshold) {
      index += 1;
      continue;
    }
    break;
  }
  const s = steps[index];
  if (index === 0 && scaled < SMALLEST) return `< ${plain(SMALLEST, 1)} ${s.unit}`;
  if (index === last && scaled >= WORDS[0][0]) return words(value / s.size, s.unit, digits);
  const text = plain(scaled, digits);
  const unit = s.singular && text === "1" ? s.singular : s.unit;
  return `${text} ${unit}`;
}

export const formatEnergy = (j, o) => formatScaled(j, ENERGY_STEPS, o);
export const formatPower = (w, o) => formatScaled(w, POWER_STEPS, o);
export const formatDuration = (s, o) => formatScaled(s, DURATION_STEPS, o);
export const formatWater = (l, o) => formatScaled(l, WATER_STEPS, o);

export function formatMass(g, { co2e = false, digits = 3, missing = "unknown" } = {}) {
  const text = formatScaled(g, MASS_STEPS, { digits, missing });
  return co2e && text !== missing ? text + " CO2e" : text;
}

export function formatNumber(v, { digits = 3, missing = "unknown" } = {}) {
  const text = formatScaled(v, NUMBER_STEPS, { digits, missing });
  return text !== missing ? text.trimEnd() : text;
}

export function formatMoney(amount, currency, { digits = 3, missing = "unknown" } = {}) {
  if (!finite(amount)) return missing;
  const suffix = currency ? ` ${currency}` : "";
  if (amount < 0) {
    const text = formatMoney(-amount, currency, { digits, missing });
    if (text.startsWith("< ")) return "> -" + text.slice(2);
    if (text.startsWith("> ")) return "< -" + text.slice(2);
    return "-" + text;
  }
  if (amount === 0) return `0${suffix}`;
  if (amount >= WORDS[0][0] - 0.5) return words(amount, currency || "", digits).trimEnd();
  if (amount >= 1) {
    const cents = pyRound(amount, 2);
    if (cents >= 10000) return `${fixed(pyRound(amount, 0), 0)}${suffix}`;
    return `${fixed(cents, 2)}${suffix}`;
  }
  const scaled = roundSig(amount, digits);
  if (scaled < SMALLEST) return `< ${plain(SMALLEST, 1)}${suffix}`;
  return `${plain(scaled, digits)}${suffix}`;
}

// A share in [0, 1] as a percentage: "87%", "4.2%", "< 0.1%"; missing as "-".
export function formatShare(share, missing = "-") {
  if (!finite(share)) return missing;
  const pct = Math.min(Math.max(share, 0), 1) * 100;
  if (pct > 0 && pct < 0.1) return "< 0.1%";
  return `${formatNumber(pct, { digits: pct >= 10 ? 3 : 2 })}%`;
}

// An ISO 8601 instant as "2026-12-07 03:41 UTC" (the server stores UTC); utc=false
// leaves the zone to a column header that says it.
export function formatInstant(iso, { missing = "-", utc = true } = {}) {
  if (!iso) return missing;
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().slice(0, 16).replace("T", " ") + (utc ? " UTC" : "");
}
