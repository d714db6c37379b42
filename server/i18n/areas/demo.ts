/** Messages of the demo area, merged into the catalogues by ../index.ts (keys under "demo."). */
export const en = {
  studyName: "Demo: {{brand}} spring campaign",
  category: "coffee shops",
  advantages: {
    freshRoast: "Beans roasted fresh every day",
    fast: "Takeaway coffee in 3 minutes",
    plantMilk: "Plant milk at no extra charge",
  },
  wavePre: "Before the campaign",
  wavePost: "After the campaign",
  console: {
    usage: "Usage: npm run demo -- [--seed N] [--locale ru|en]",
    badSeed: "--seed must be a whole number between 0 and 4294967295.",
    badLocale: "--locale must be ru or en.",
    created: "Demo study “{{name}}” created (seed {{seed}}): {{responses}} in 2 waves and 3 segments, in {{seconds}} s.",
    previous_one: "There was already {{count}} demo study in this database; this run added another. The old one can be archived on its study page.",
    previous_other: "There were already {{count}} demo studies in this database; this run added another. Old ones can be archived on their study pages.",
    open: "Start the app (npm start) and open:",
    results: "results:",
    planner: "sample-size planner:",
    noUser: "No account exists yet: first open {{url}} to create the administrator, then the study.",
    login: "Log in as any user of this database (for example {{email}}).",
    trueLifts: "Built-in true lifts of aided awareness (pre → post): {{lifts}}.",
  },
};

export const ru = {
  studyName: "Демо: весенняя кампания {{brand}}",
  category: "кофейни",
  advantages: {
    freshRoast: "Свежая обжарка каждый день",
    fast: "Кофе с собой за 3 минуты",
    plantMilk: "Растительное молоко без доплаты",
  },
  wavePre: "До кампании",
  wavePost: "После кампании",
  console: {
    usage: "Запуск: npm run demo -- [--seed N] [--locale ru|en]",
    badSeed: "--seed — целое число от 0 до 4294967295.",
    badLocale: "--locale — ru или en.",
    created: "Демо-исследование «{{name}}» создано (seed {{seed}}): {{responses}} в 2 волнах и 3 сегментах, за {{seconds}} с.",
    previous_one: "В этой базе уже было {{count}} демо-исследование; запуск добавил ещё одно. Старое можно архивировать на его странице.",
    previous_few: "В этой базе уже было {{count}} демо-исследования; запуск добавил ещё одно. Старые можно архивировать на их страницах.",
    previous_many: "В этой базе уже было {{count}} демо-исследований; запуск добавил ещё одно. Старые можно архивировать на их страницах.",
    previous_other: "В этой базе уже было {{count}} демо-исследования; запуск добавил ещё одно. Старые можно архивировать на их страницах.",
    open: "Запустите приложение (npm start) и откройте:",
    results: "результаты:",
    planner: "расчёт выборки:",
    noUser: "Учётных записей ещё нет: сначала откройте {{url}} и создайте администратора, затем исследование.",
    login: "Войдите любым пользователем этой базы (например, {{email}}).",
    trueLifts: "Заложенный истинный прирост знания с подсказкой (до → после): {{lifts}}.",
  },
};
