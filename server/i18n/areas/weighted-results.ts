/** Weighted results on the results page, the report and the exports (keys under "weightedResults."). */
export const en = {
  unweightedShares: "Unweighted shares (before / after)",
  effectiveN: "Effective sample size (before / after)",
  effectiveNValue: "{{pre}} / {{post}} (design effect {{deffPre}} / {{deffPost}})",
  applied: "Weighted to each segment’s population margins ({{variables}}): shares, lifts, intervals and verdicts use standard errors that allow for the weighting, and each row gives its effective sample size.",
  off: "Unweighted: each respondent counts once.",
  offAvailable: "Unweighted: each respondent counts once, although population margins are entered.",
  none: "Unweighted: each respondent counts once. No population margins are entered, so the results describe the people who answered, not the audience.",
  unavailable: "Unweighted: the waves could not be weighted to the population margins.",
  toggle: "Weight to the population margins",
  marginsLink: "Population margins",
  problems: {
    empty_level: "{{segment}}, {{wave}}: nobody answered “{{level}}” ({{variable}}), which has a population share",
    not_converged: "{{segment}}, {{wave}}: the weights could not meet the margins ({{variable}}: {{level}})",
    too_few: "{{segment}}, {{wave}}: fewer than two respondents",
    no_profile_answers: "{{segment}}, {{wave}}: nobody answered the profile questions",
    no_margins: "{{segment}}, {{wave}}: no population margins for this segment",
  },
  noAnswer: "no answer",
  more: "and {{count}} more",
};

export const ru: typeof en = {
  unweightedShares: "Доли без взвешивания (до / после)",
  effectiveN: "Эффективный размер выборки (до / после)",
  effectiveNValue: "{{pre}} / {{post}} (эффект дизайна {{deffPre}} / {{deffPost}})",
  applied: "Взвешено к структуре аудитории каждого сегмента ({{variables}}): доли, приросты, интервалы и выводы учитывают взвешивание в стандартных ошибках; у каждой строки указан эффективный размер выборки.",
  off: "Без взвешивания: каждый респондент считается один раз.",
  offAvailable: "Без взвешивания: каждый респондент считается один раз, хотя структура аудитории задана.",
  none: "Без взвешивания: каждый респондент считается один раз. Структура аудитории не задана, поэтому результаты описывают ответивших, а не всю аудиторию.",
  unavailable: "Без взвешивания: волны не удалось взвесить к структуре аудитории.",
  toggle: "Взвешивать к структуре аудитории",
  marginsLink: "Структура аудитории",
  problems: {
    empty_level: "{{segment}}, {{wave}}: никто не выбрал «{{level}}» ({{variable}}), а в аудитории эта группа есть",
    not_converged: "{{segment}}, {{wave}}: веса не сходятся к структуре ({{variable}}: {{level}})",
    too_few: "{{segment}}, {{wave}}: меньше двух респондентов",
    no_profile_answers: "{{segment}}, {{wave}}: никто не ответил на вопросы о себе",
    no_margins: "{{segment}}, {{wave}}: для сегмента не задана структура аудитории",
  },
  noAnswer: "нет ответа",
  more: "и ещё {{count}}",
};
