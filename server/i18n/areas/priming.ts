/**
 * Messages of surveys that do not prime their answers (keys under "priming."): the neutral
 * title respondents see, page breaks in the builder, and the builder's warnings.
 */
export const en = {
  surveyTitle: "Survey",
  publicTitle: "Title for respondents",
  publicTitleHint:
    "Shown in the browser tab and at the top of every survey page, before any question. Keep it neutral, such as the category (“Survey about coffee shops”): never the brand or a competitor. Empty: “Survey”.",
  pageBreak: "Page break",
  pageBreakAfter: "Start a new page after this question",
  forcedBreak: "New page: an unaided awareness question always ends its page",
  addBreak: "Add a page break below",
  removeBreak: "Remove the page break",
  warningsHeading: "The questionnaire may prompt the answers",
  question: "question {{n}} “{{text}}”",
  warnings: {
    namesBeforeUnaided:
      "Before answering the unaided question ({{unaided}}), respondents see {{names}} ({{question}}). Move that question after it, or put a page break between them.",
    titleNamesBrand: "The title for respondents, “{{title}}”, names {{names}}. Use a neutral title, such as the category, in the study settings.",
    unaidedAfterAided:
      "The unaided question ({{unaided}}) comes after the list of brands ({{aided}}): respondents have already seen the brands. Move it before the list.",
    adRecallBeforeAwareness:
      "The ad recall question ({{adRecall}}) comes before an awareness question ({{awareness}}): asking about the brand’s ads names the brand. Move it after the awareness questions.",
  },
};

export const ru: typeof en = {
  surveyTitle: "Опрос",
  publicTitle: "Название для респондентов",
  publicTitleHint:
    "Видно во вкладке браузера и вверху каждой страницы опроса, до всех вопросов. Название должно быть нейтральным, например по категории («Опрос о кофейнях»): без бренда и конкурентов. Если оставить пустым — «Опрос».",
  pageBreak: "Разрыв страницы",
  pageBreakAfter: "Начать новую страницу после этого вопроса",
  forcedBreak: "Новая страница: вопрос о спонтанном знании всегда завершает страницу",
  addBreak: "Добавить разрыв страницы ниже",
  removeBreak: "Убрать разрыв страницы",
  warningsHeading: "Анкета может подсказывать ответы",
  question: "вопрос {{n}} «{{text}}»",
  warnings: {
    namesBeforeUnaided:
      "До ответа на вопрос о спонтанном знании ({{unaided}}) респондент видит: {{names}} ({{question}}). Перенесите этот вопрос после него или поставьте между ними разрыв страницы.",
    titleNamesBrand: "В названии для респондентов «{{title}}» упоминается: {{names}}. Задайте нейтральное название, например по категории, в настройках исследования.",
    unaidedAfterAided:
      "Вопрос о спонтанном знании ({{unaided}}) стоит после списка брендов ({{aided}}): респондент уже видел бренды. Перенесите его перед списком.",
    adRecallBeforeAwareness:
      "Вопрос о запоминании рекламы ({{adRecall}}) стоит перед вопросом о знании ({{awareness}}): вопрос о рекламе называет бренд. Перенесите его после вопросов о знании.",
  },
};
