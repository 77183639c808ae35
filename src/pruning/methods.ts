// The pruning vocabulary lives on the ground floor (src/core/vocabulary.ts); the pruning
// code keeps importing it from here.
export {
  SCORE_NAMES,
  STRUCTURED_NAMES,
  structuredLevels,
  type ScoreName,
  type StructuredName,
  type TicketMethod,
} from '../core/vocabulary.ts';
