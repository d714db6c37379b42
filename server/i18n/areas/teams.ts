/** Teams, memberships and who may create studies where (keys under "teams."). */
export const en = {
  team: "Team",
  teamHint: "The study belongs to this team: only its members (and administrators) see it.",
  teamRequired: "Choose the team the study belongs to.",
  teamUnknown: "You cannot create studies in that team.",
  column: "Team",
  choose: "— choose a team —",
};

export const ru: typeof en = {
  team: "Команда",
  teamHint: "Исследование принадлежит этой команде: его видят только её участники (и администраторы).",
  teamRequired: "Выберите команду, которой принадлежит исследование.",
  teamUnknown: "В этой команде вы не можете создавать исследования.",
  column: "Команда",
  choose: "— выберите команду —",
};
