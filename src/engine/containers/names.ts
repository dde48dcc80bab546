// Generated container names, in Docker's `adjective_noun` form. Our own word lists: harbour
// and shipping words, to go with the project's name.
const ADJECTIVES = [
  'agile', 'amber', 'ancient', 'bold', 'brave', 'breezy', 'bright', 'busy', 'calm', 'careful', 'cheerful', 'clever',
  'coastal', 'cosy', 'crisp', 'curious', 'daring', 'deep', 'eager', 'early', 'easy', 'fair', 'fast', 'fearless',
  'festive', 'foggy', 'fresh', 'gentle', 'glad', 'golden', 'grand', 'happy', 'hardy', 'honest', 'humble', 'jolly',
  'keen', 'kind', 'lively', 'loyal', 'lucky', 'mellow', 'merry', 'mighty', 'misty', 'modest', 'nimble', 'noble',
  'patient', 'plucky', 'polite', 'proud', 'quick', 'quiet', 'rapid', 'ready', 'salty', 'serene', 'sharp', 'shiny',
  'silent', 'sleepy', 'snug', 'solid', 'spry', 'steady', 'stoic', 'sturdy', 'sunny', 'swift', 'tidy', 'tranquil',
  'trusty', 'vivid', 'wandering', 'warm', 'wise', 'witty', 'zealous',
];

const NOUNS = [
  'anchor', 'ballast', 'barge', 'beacon', 'bollard', 'bosun', 'breakwater', 'buoy', 'cabin', 'capstan', 'cargo',
  'channel', 'compass', 'coxswain', 'crane', 'cutter', 'davit', 'deck', 'dinghy', 'dock', 'dory', 'ferry', 'fender',
  'galley', 'gangway', 'harbour', 'hawser', 'helm', 'hull', 'jetty', 'keel', 'ketch', 'lantern', 'launch',
  'lighthouse', 'lock', 'mast', 'mooring', 'navigator', 'oar', 'pier', 'pilot', 'porthole', 'quay', 'rudder',
  'schooner', 'sextant', 'skiff', 'sloop', 'slipway', 'starboard', 'steamer', 'stern', 'tender', 'tide', 'tiller',
  'trawler', 'tug', 'wharf', 'winch', 'yawl',
];

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!;

/** `quiet_lighthouse`, or `quiet_lighthouse3` with a suffix (used after clashes). */
export function randomName(suffix?: number): string {
  return `${pick(ADJECTIVES)}_${pick(NOUNS)}${suffix === undefined ? '' : suffix}`;
}
