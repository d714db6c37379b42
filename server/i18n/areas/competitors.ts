/**
 * Competitors as a check on the brand's lift (keys under "competitors."): the table under an
 * awareness metric and the "category trend" note on the brand's verdict.
 */
export const en = {
  title: "Competitors",
  hintAided: "Share of respondents who know each brand of the list, before → after, and the change. If the competitors rose about as much as the brand, the rise is a category trend rather than the campaign’s.",
  hintUnaided: "Share of respondents who named each brand unprompted, before → after, and the change. If the competitors rose about as much as the brand, the rise is a category trend rather than the campaign’s.",
  method:
    "Unadjusted {{level}} intervals. The net lift is computed per respondent (knows the brand, minus the share of the competitors they know), so the overlap between brand and competitor answers of the same people is allowed for.",
  brand: "Brand",
  ourBrand: "our brand",
  average: "Average competitor",
  net: "{{brand}} net of the average competitor",
  categoryTrend: "category trend",
  cell: "{{pre}} → {{post}}",
  cellTitle: "Before {{pre}} {{preInterval}}, after {{post}} {{postInterval}} ({{level}} intervals)",
  noData: "no responses",
  note: "Category trend: competitors rose about as much; net of the average competitor: {{net}} {{interval}} ({{level}} interval).",
};

export const ru: typeof en = {
  title: "Конкуренты",
  hintAided: "Доля респондентов, знающих каждый бренд из списка, до → после, и изменение. Если конкуренты выросли примерно так же, как бренд, рост — тренд категории, а не заслуга кампании.",
  hintUnaided: "Доля респондентов, назвавших каждый бренд без подсказки, до → после, и изменение. Если конкуренты выросли примерно так же, как бренд, рост — тренд категории, а не заслуга кампании.",
  method:
    "Интервалы {{level}} без поправки на множественность. Чистый прирост считается по каждому респонденту (знает бренд минус доля известных ему конкурентов), поэтому учтено, что о бренде и конкурентах отвечают одни и те же люди.",
  brand: "Бренд",
  ourBrand: "наш бренд",
  average: "Средний конкурент",
  net: "{{brand}} за вычетом среднего конкурента",
  categoryTrend: "тренд категории",
  cell: "{{pre}} → {{post}}",
  cellTitle: "До {{pre}} {{preInterval}}, после {{post}} {{postInterval}} (интервалы {{level}})",
  noData: "нет ответов",
  note: "Тренд категории: конкуренты выросли примерно так же; за вычетом среднего конкурента: {{net}} {{interval}} (интервал {{level}}).",
};
