export { createRandom, deriveRandom, type Random } from './prng.js';
export { PROFILES, linkProfile, type DirectionProfile, type LinkProfile } from './profiles.js';
export { WALKING_HOLES, walkThroughHoles, type CoverageHoles } from './coverage.js';
export { DirectionShaper, type ScheduledSegment } from './shaper.js';
export {
  LinkProxy,
  openLink,
  type CutMoment,
  type FaultMode,
  type FaultPlan,
  type LinkEvent,
  type LinkOptions,
  type LinkSchedule,
} from './proxy.js';
