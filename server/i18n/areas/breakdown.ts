/** Lift by a profile variable (keys under "breakdown."). */
export const en = {
  title: "Breakdown",
  by: "Break down by",
  show: "Show",
  intro: "Lift within each segment by {{variable}}: the same verdict rules as the results; each metric’s cells are adjusted together. Unweighted: each cell is already one group. Cells with fewer than 30 respondents in a wave are marked.",
  family_one: "{{count, grouped}} cell adjusted on its own ({{method}})",
  family_other: "{{count, grouped}} cells adjusted together ({{method}})",
  cell: "Segment and group",
  noAnswer: "no answer",
  smallCell: "few respondents",
  none: "The questionnaire has no profile questions (such as gender or age group) to break the results down by. Mark a single-choice question as a profile question in the questionnaire.",
  link: "Breakdown by profile",
};

export const ru: typeof en & { family_few: string; family_many: string } = {
  title: "Разбивка",
  by: "Разбить по",
  show: "Показать",
  intro: "Прирост внутри каждого сегмента в разрезе «{{variable}}»: правила вывода те же, что в результатах; ячейки каждой метрики корректируются вместе. Без взвешивания: каждая ячейка — уже одна группа. Ячейки, где в волне меньше 30 респондентов, отмечены.",
  family_one: "{{count, grouped}} ячейка с общей поправкой ({{method}})",
  family_few: "{{count, grouped}} ячейки с общей поправкой ({{method}})",
  family_many: "{{count, grouped}} ячеек с общей поправкой ({{method}})",
  family_other: "{{count, grouped}} ячейки с общей поправкой ({{method}})",
  cell: "Сегмент и группа",
  noAnswer: "нет ответа",
  smallCell: "мало ответов",
  none: "В анкете нет вопросов о респонденте (пол, возраст), по которым можно разбить результаты. Отметьте вопрос с одним вариантом ответа как вопрос о респонденте в анкете.",
  link: "Разбивка по профилю",
};
