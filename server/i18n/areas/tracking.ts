/**
 * Tracking studies (keys under "tracking."): KPIs agreed up front in the study definition, their
 * statuses, and the trends of every metric × segment over the waves.
 */
export const en = {
  definition: {
    unknownMetric: "No question of the questionnaire measures a metric with this name.",
    unknownSegment: "The study has no segment with this key.",
    liftOrLevel: "Give either a target lift against the baseline (lift) or a target level (level), not both and not neither.",
    fraction: "Must be a fraction above 0 and below 1, e.g. 0.05 for 5 percentage points or 0.4 for 40%.",
    tooMany: "At most {{max}} KPIs.",
  },
  trends: {
    heading: "Trends over the waves",
    intro:
      "The share per wave with its interval, and each wave’s change against the previous wave and against the baseline. Verdicts are adjusted for every comparison the trend makes: {{size}} per metric.",
    caption: "{{metric}} · {{segment}}",
    wave: "Wave",
    share: "Share",
    interval: "Interval",
    vsPrevious: "Against the previous wave",
    vsBaseline: "Against the baseline",
    baseline: "baseline",
    noData: "no responses",
    change: "{{change}} pp",
  },
  kpi: {
    heading: "KPIs",
    status: {
      met: "met",
      not_met: "not met",
      not_yet: "not yet decided",
      wave_missing: "the wave has not started",
      no_data: "no responses yet",
    },
  },
};

export const ru: typeof en = {
  definition: {
    unknownMetric: "Ни один вопрос анкеты не измеряет метрику с таким названием.",
    unknownSegment: "В исследовании нет сегмента с таким ключом.",
    liftOrLevel: "Укажите либо целевой прирост к исходной волне (lift), либо целевой уровень (level) — одно из двух.",
    fraction: "Нужна доля больше 0 и меньше 1, например 0.05 для 5 процентных пунктов или 0.4 для 40%.",
    tooMany: "Не больше {{max}} KPI.",
  },
  trends: {
    heading: "Динамика по волнам",
    intro:
      "Доля в каждой волне с интервалом и изменение каждой волны к предыдущей и к исходной. Выводы скорректированы на все сравнения динамики: {{size}} на метрику.",
    caption: "{{metric}} · {{segment}}",
    wave: "Волна",
    share: "Доля",
    interval: "Интервал",
    vsPrevious: "К предыдущей волне",
    vsBaseline: "К исходной волне",
    baseline: "исходная",
    noData: "нет ответов",
    change: "{{change}} п. п.",
  },
  kpi: {
    heading: "KPI",
    status: {
      met: "достигнут",
      not_met: "не достигнут",
      not_yet: "пока не ясно",
      wave_missing: "волна ещё не началась",
      no_data: "ответов пока нет",
    },
  },
};
