/**
 * Student's t distribution for integer degrees of freedom, as used for confidence intervals over
 * a few repetitions. Written by hand because the registry's well-kept implementation
 * (@stdlib/stats-base-dists-t-quantile) installs 232 packages for this one function, while for an
 * integer ν the distribution has a closed form (Abramowitz & Stegun 26.7.3–4) that bisection
 * inverts to full double precision; tests check it against the published table values.
 */

/** A(t|ν) = P(|T| ≤ t) for T ~ Student t with integer ν ≥ 1 degrees of freedom and t ≥ 0 (A&S 26.7.3/26.7.4). */
export function studentTCentralProbability(t: number, degreesOfFreedom: number): number {
  const nu = degreesOfFreedom;
  if (!Number.isInteger(nu) || nu < 1) throw new Error(`studentT: degrees of freedom must be an integer ≥ 1, got ${nu}`);
  if (Number.isNaN(t) || t < 0) throw new Error(`studentT: t must be ≥ 0, got ${t}`);
  if (t === Infinity) return 1;
  const theta = Math.atan(t / Math.sqrt(nu));
  const s = Math.sin(theta);
  const c2 = Math.cos(theta) ** 2;
  if (nu % 2 === 1) {
    // (2/π)[θ + sinθ cosθ (1 + (2/3)cos²θ + … + (2·4⋯(ν−3))/(1·3⋯(ν−2)) cos^(ν−3)θ)]
    let term = 1;
    let sum = nu > 1 ? 1 : 0;
    for (let k = 1; k <= (nu - 3) / 2; k++) {
      term *= ((2 * k) / (2 * k + 1)) * c2;
      sum += term;
    }
    return (2 / Math.PI) * (theta + s * Math.cos(theta) * sum);
  }
  // sinθ [1 + (1/2)cos²θ + (1·3)/(2·4) cos⁴θ + … + (1·3⋯(ν−3))/(2·4⋯(ν−2)) cos^(ν−2)θ]
  let term = 1;
  let sum = 1;
  for (let k = 1; k <= (nu - 2) / 2; k++) {
    term *= ((2 * k - 1) / (2 * k)) * c2;
    sum += term;
  }
  return s * sum;
}

/** The t with P(|T| ≤ t) = `level` (e.g. 0.95 → the two-sided 95 % critical value: 12.706 for ν = 1, 2.776 for ν = 4). */
export function studentTCriticalValue(level: number, degreesOfFreedom: number): number {
  if (!(level > 0 && level < 1)) throw new Error(`studentTCriticalValue: level must be in (0, 1), got ${level}`);
  studentTCentralProbability(0, degreesOfFreedom); // validates ν
  let lo = 0;
  let hi = 1;
  while (studentTCentralProbability(hi, degreesOfFreedom) < level) {
    lo = hi;
    hi *= 2;
  }
  // Bisection on a monotone function: stops when the bracket cannot shrink any further.
  for (;;) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) return hi;
    if (studentTCentralProbability(mid, degreesOfFreedom) < level) lo = mid;
    else hi = mid;
  }
}
