/** Check-character algorithms of the identifiers found in credit records (domain.md §2). */

export { isValidOrgCode, orgCodeCheckChar } from './org-code.js';
export {
  isValidResidentId,
  maskIdNumber,
  residentIdBirthDate,
  residentIdCheckChar,
  upgradeResidentId15,
} from './resident-id.js';
export {
  isPilotUscc,
  isUsccShape,
  isValidUscc,
  usccCheckChar,
  usccOrgCodeConsistent,
  usccRegistrationDivision,
} from './uscc.js';
