/**
 * Safety rails (keys under "safety."): a structure frozen once fieldwork starts, responses that
 * cannot complete without their required answers, bounded study definitions, what a shared
 * report may show, and throttled logins.
 */
export const en = {
  pageSizeFrozen: "A wave has been opened: the page size is frozen with the rest of the questionnaire’s structure, so respondents half-way through keep their pages.",
  incomplete: "Some required questions are still unanswered. Please answer them to finish the survey.",
  tooLargeLimit: "At most {{kb}} KB per request.",
  loginThrottled: "Too many failed login attempts from this address. Try again in {{minutes}} min, or log in from a browser you have used for this account before.",
  import: {
    tooManyAliases: "At most {{max}} aliases per metric.",
    tooManyAliasesTotal: "At most {{max}} aliases in the whole study.",
    aliasTooLong: "An alias is at most {{max}} characters long.",
    tooManyValues: "At most {{max}} values.",
    tooManyOptions: "At most {{max}} options per question.",
    tooManyQuestions: "At most {{max}} questions per study.",
    tooManySegments: "At most {{max}} segments per study.",
    tooLarge: "The definition is too large: at most {{max}} characters.",
  },
  share: {
    showVerbatims: "Show verbatim answers (what respondents wrote, and the examples of each theme)",
    withVerbatims: "verbatims shown",
    withoutVerbatims: "verbatims hidden",
    verbatimsHidden: "Verbatim answers are not shown in this shared report: only the themes and how many mentioned them.",
  },
};

export const ru: typeof en = {
  pageSizeFrozen: "Волна уже открывалась: число вопросов на странице заморожено вместе с остальной структурой анкеты, чтобы у тех, кто отвечает прямо сейчас, страницы не сдвинулись.",
  incomplete: "На некоторые обязательные вопросы ещё нет ответа. Ответьте на них, чтобы завершить опрос.",
  tooLargeLimit: "Не больше {{kb}} КБ за один запрос.",
  loginThrottled: "Слишком много неудачных попыток входа с этого адреса. Попробуйте снова через {{minutes}} мин. или войдите из браузера, в котором уже входили в эту учётную запись.",
  import: {
    tooManyAliases: "Не больше {{max}} вариантов написания на метрику.",
    tooManyAliasesTotal: "Не больше {{max}} вариантов написания во всём исследовании.",
    aliasTooLong: "Вариант написания — не длиннее {{max}} символов.",
    tooManyValues: "Не больше {{max}} значений.",
    tooManyOptions: "Не больше {{max}} вариантов ответа в вопросе.",
    tooManyQuestions: "Не больше {{max}} вопросов в исследовании.",
    tooManySegments: "Не больше {{max}} сегментов в исследовании.",
    tooLarge: "Описание исследования слишком большое: не больше {{max}} символов.",
  },
  share: {
    showVerbatims: "Показывать ответы дословно (что написали респонденты и примеры к каждой теме)",
    withVerbatims: "ответы показаны",
    withoutVerbatims: "ответы скрыты",
    verbatimsHidden: "Дословные ответы в этом отчёте не показаны: только темы и сколько человек о них написали.",
  },
};
