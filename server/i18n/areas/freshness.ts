/** How fresh the results shown are (snapshots per data version; keys under "freshness."). */
export const en = {
  current_one: "Computed {{at}} from {{n}} response.",
  current_other: "Computed {{at}} from {{n}} responses.",
  stale_one: "Computed {{at}} from {{n}} response. The data has changed since: the results are being updated, reload the page in a minute.",
  stale_other: "Computed {{at}} from {{n}} responses. The data has changed since: the results are being updated, reload the page in a minute.",
  // Where the page has its own bases (the monthly report lists them per wave and segment).
  currentAt: "Computed {{at}}.",
  staleAt: "Computed {{at}}. The data has changed since: the results are being updated, reload the page in a minute.",
  computingTitle: "The results are being computed",
  computing: "This study has many responses: its results are being computed in the background. This page reloads by itself until they are ready.",
  apiComputing: "The results of this study are being computed; ask again in a few seconds.",
  breakdownComputingTitle: "The breakdown is being prepared",
  breakdownComputing: "This study has many responses: the breakdown by profile is being counted in the background. This page reloads by itself until it is ready.",
};

export const ru: typeof en & { current_few: string; current_many: string; stale_few: string; stale_many: string } = {
  current_one: "Рассчитано {{at}} по {{n}} ответу.",
  current_few: "Рассчитано {{at}} по {{n}} ответам.",
  current_many: "Рассчитано {{at}} по {{n}} ответам.",
  current_other: "Рассчитано {{at}} по {{n}} ответам.",
  stale_one: "Рассчитано {{at}} по {{n}} ответу. С тех пор данные изменились: результаты пересчитываются, обновите страницу через минуту.",
  stale_few: "Рассчитано {{at}} по {{n}} ответам. С тех пор данные изменились: результаты пересчитываются, обновите страницу через минуту.",
  stale_many: "Рассчитано {{at}} по {{n}} ответам. С тех пор данные изменились: результаты пересчитываются, обновите страницу через минуту.",
  stale_other: "Рассчитано {{at}} по {{n}} ответам. С тех пор данные изменились: результаты пересчитываются, обновите страницу через минуту.",
  currentAt: "Рассчитано {{at}}.",
  staleAt: "Рассчитано {{at}}. С тех пор данные изменились: результаты пересчитываются, обновите страницу через минуту.",
  computingTitle: "Результаты рассчитываются",
  computing: "В исследовании много ответов: результаты рассчитываются в фоне. Страница обновляется сама, пока они не будут готовы.",
  apiComputing: "Результаты исследования рассчитываются; повторите запрос через несколько секунд.",
  breakdownComputingTitle: "Разбивка готовится",
  breakdownComputing: "В исследовании много ответов: разбивка по профилю считается в фоне. Страница обновляется сама, пока она не будет готова.",
};
