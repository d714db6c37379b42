import { recodeJobStep } from "../quality/coding-service.js";
import { responseChecksStep } from "../quality/checks-service.js";
import { recomputeJobStep } from "../quality/flag-service.js";
import { themesJobStep } from "../quality/themes-service.js";
import { personalLinksJobStep } from "../services/fieldwork.js";
import type { JobHandlers } from "./contract.js";

/** The step of each kind of background job this app runs ("results" belongs to the results snapshots). */
export const JOB_HANDLERS: JobHandlers = {
  recode: recodeJobStep(),
  flags: recomputeJobStep(),
  // Closing a wave makes its median final: the study's flags are recomputed.
  wave_close: recomputeJobStep(),
  personal_links: personalLinksJobStep(),
  themes: themesJobStep,
  response_checks: responseChecksStep(),
};
