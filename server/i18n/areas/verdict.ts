/**
 * The words of the verdict (keys under "verdict."): one vocabulary for the results page, the
 * report, the exports and the quality pages, so a row reads the same wherever it is shown.
 */
export const en = {
  labels: {
    rise: "rose",
    fall: "fell",
    no_change: "no detectable change",
    not_enough_data: "not enough data",
  },
  measures: {
    lift: "Lift",
    did: "Lift beyond the market trend",
  },
  interval: "{{level}} interval",
  unadjusted: "Change within the segment (unadjusted {{level}} interval)",
  marketTrend: "Market trend (control group)",
  marketTrendNote: "Difference-in-differences: the segment’s change minus the control group’s, assuming both would have moved alike without the campaign (parallel trends).",
  relative: "Relative lift",
  headroom: "Share of the previously unaware who became aware",
  p: "p (unadjusted)",
  adjustedP: "p adjusted for the family",
  probability: "Probability of a rise",
  probabilityNote: "The probability of a rise does not allow for the {{count}} comparisons of this family; the verdict does, so it says “{{verdict}}”.",
  probabilityNoteSingle: "The probability of a rise uses uniform priors and no multiplicity correction; the verdict uses the {{level}} interval, so it says “{{verdict}}”.",
  mdl: "Smallest lift detectable with 80% power (α = {{alpha}})",
  n: "Respondents (before / after)",
  leftOut: "Left out (before / after)",
  leftOutWhy: "skipped the question {{skipped}}, did not finish {{partial}}, excluded {{excluded}}, chose a decoy {{decoy}}, flagged {{flagged}}",
  details: "Details",
  liftedUsers: "Lifted users",
  costPerLiftedUser: "Cost per lifted user",
  notes: {
    not_detected: "— (no rise detected)",
    no_audience_size: "— (no audience size entered)",
    control_segment: "— (control group)",
    no_cost: "— (no campaign cost entered)",
    not_whole_campaign: "— (the campaign cost covers all segments: see the total)",
  },
  family: {
    segments_one: "Adjusted within the family of {{count}} segment of this metric ({{method}})",
    segments_other: "Adjusted within the family of {{count}} segments of this metric ({{method}})",
    total: "The total is tested on its own (it summarises the same respondents)",
    control: "Control groups are tested on their own: they show the market trend",
  },
  totalMethods: {
    audience: "weighted by audience size, the same weights before and after",
    sample: "weighted by each segment’s share of all respondents, the same weights before and after",
  },
  methods:
    "One verdict per row. Its interval is printed beside it and excludes 0 exactly when the verdict says the share changed. For a segment the lift’s interval is Newcombe’s hybrid score interval and its p-value the test that interval implies; a total uses fixed weights for both waves (audience sizes when given, else each segment’s share of all respondents) with a normal (Wald) interval. The family for the multiple-comparison correction ({{adjustment}}) is the exposed segments of one metric; totals and control groups are tested on their own. Each verdict interval is at the level its row was tested at after the correction (between {{level}} and the level divided by the family size), so intervals can be wider than {{level}}. “Not enough data”: no change detected and fewer than 30 respondents in a wave. With a control group the verdict is about the difference-in-differences. The probability of a rise uses uniform priors and is not corrected for multiplicity. Lifted users and cost per lifted user are shown only for a detected rise, with the range of the verdict interval. The smallest detectable lift and the planner use the per-row level α divided by the family size.",
};

export const ru: typeof en = {
  labels: {
    rise: "рост",
    fall: "снижение",
    no_change: "изменение не обнаружено",
    not_enough_data: "мало данных",
  },
  measures: {
    lift: "Прирост",
    did: "Прирост сверх тренда рынка",
  },
  interval: "интервал {{level}}",
  unadjusted: "Изменение в сегменте (интервал {{level}} без поправки)",
  marketTrend: "Тренд рынка (контрольная группа)",
  marketTrendNote: "Разность разностей: изменение в сегменте минус изменение в контрольной группе; предполагается, что без кампании обе группы менялись бы одинаково (параллельные тренды).",
  relative: "Относительный прирост",
  headroom: "Доля узнавших среди тех, кто раньше не знал",
  p: "p (без поправки)",
  adjustedP: "p с поправкой на семейство",
  probability: "Вероятность роста",
  probabilityNote: "Вероятность роста не учитывает {{count}} сравнений этого семейства, а вердикт учитывает, поэтому он — «{{verdict}}».",
  probabilityNoteSingle: "Вероятность роста считается с равномерным априорным распределением и без поправки на множественность; вердикт опирается на интервал {{level}}, поэтому он — «{{verdict}}».",
  mdl: "Наименьший прирост, заметный с мощностью 80 % (α = {{alpha}})",
  n: "Респондентов (до / после)",
  leftOut: "Не вошли в базу (до / после)",
  leftOutWhy: "пропустили вопрос {{skipped}}, не закончили {{partial}}, исключены {{excluded}}, выбрали ложный вариант {{decoy}}, с пометками {{flagged}}",
  details: "Подробнее",
  liftedUsers: "Прирост в людях",
  costPerLiftedUser: "Стоимость одного «прибавленного»",
  notes: {
    not_detected: "— (рост не обнаружен)",
    no_audience_size: "— (не указан размер аудитории)",
    control_segment: "— (контрольная группа)",
    no_cost: "— (не указана стоимость кампании)",
    not_whole_campaign: "— (стоимость кампании относится ко всем сегментам: см. итог)",
  },
  family: {
    segments_one: "Поправка внутри семейства из {{count}} сегмента этой метрики ({{method}})",
    segments_few: "Поправка внутри семейства из {{count}} сегментов этой метрики ({{method}})",
    segments_many: "Поправка внутри семейства из {{count}} сегментов этой метрики ({{method}})",
    segments_other: "Поправка внутри семейства из {{count}} сегментов этой метрики ({{method}})",
    total: "Итог проверяется отдельно (он обобщает тех же респондентов)",
    control: "Контрольные группы проверяются отдельно: они показывают тренд рынка",
  } as typeof en.family,
  totalMethods: {
    audience: "взвешено по размеру аудитории, одни и те же веса до и после",
    sample: "взвешено по доле каждого сегмента среди всех опрошенных, одни и те же веса до и после",
  },
  methods:
    "У каждой строки один вердикт. Его интервал напечатан рядом и не содержит 0 ровно тогда, когда вердикт говорит об изменении. Для сегмента интервал прироста — гибридный score-интервал Ньюкомба, а p-значение — тест, который из него следует; итог по всем сегментам считается с одними и теми же весами в обеих волнах (размеры аудитории, если указаны, иначе доли сегментов среди всех опрошенных) и нормальным интервалом Вальда. Семейство для поправки на множественные сравнения ({{adjustment}}) — сегменты одной метрики, на которые направлена кампания; итоги и контрольные группы проверяются отдельно. Интервал вердикта построен на том уровне, на котором строка проверена после поправки (от {{level}} до уровня, делённого на размер семейства), поэтому он может быть шире {{level}}. «Мало данных»: изменение не обнаружено и в одной из волн меньше 30 респондентов. При наличии контрольной группы вердикт относится к разности разностей. Вероятность роста считается с равномерным априорным распределением и без поправки на множественность. Прирост в людях и стоимость одного «прибавленного» показываются только при обнаруженном росте, с диапазоном из интервала вердикта. Наименьший заметный прирост и планировщик используют уровень α, делённый на размер семейства.",
};
