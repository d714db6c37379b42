import { recodeJobStep } from "../quality/coding-service.js";
import { responseChecksStep } from "../quality/checks-service.js";
import { recomputeJobStep } from "../quality/flag-service.js";
import { resultsJobStep } from "../results-snapshots/refresh.js";
import { personalLinksJobStep } from "../services/fieldwork.js";
import type { JobHandlers } from "./contract.js";

/** The step of each kind of background job this app runs. */
export const JOB_HANDLERS: JobHandlers = {
  recode: recodeJobStep(),
  flags: recomputeJobStep(),
  // Closing a wave makes its median final: the study's flags are recomputed.
  wave_close: recomputeJobStep(),
  personal_links: personalLinksJobStep(),
  results: resultsJobStep,
  response_checks: responseChecksStep(),
};
