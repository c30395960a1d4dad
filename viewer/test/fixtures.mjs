// A small viewer.json in the shape the run writes (pipeline/viewer/assets.py):
// two seasons, three slots of which the winter has two, a ramp and two category legends
// copied from the sample run's file, one colouring marked unavailable.

const viridis = ["#48186A", "#424086", "#33638D", "#26828E", "#1FA088", "#3FBC73", "#84D44B", "#D8E219"];

export const SCORE = {
  kind: "ramp", title: { en: "Walkability score", ja: "歩きやすさスコア" }, units: { en: "0-100", ja: "0〜100" },
  min: 0.0, max: 100.0, palette: "viridis", stops: viridis,
};
export const SHADE_HOURS = {
  kind: "ramp", title: { en: "Shade hours in the slot", ja: "時間帯内の日陰時間" }, units: { en: "h", ja: "時間" },
  min: 0.0, max: 3.0, palette: "cividis_r",
  stops: ["#EFD748", "#CCBA64", "#AAA073", "#8B8778", "#6E6F73", "#52596D", "#31436D", "#002D68"],
};
export const CLASS = {
  kind: "categories", title: { en: "Walkability class", ja: "歩きやすさの分類" }, units: { en: "class", ja: "分類" },
  categories: [
    { value: "walkable_used", colour: "#009E73", label: { en: "walkable and used", ja: "歩きやすく利用の多いエリア" } },
    { value: "walkable_underused", colour: "#56B4E9", label: { en: "walkable but under-used (potential)", ja: "ポテンシャルを有するエリア" } },
  ],
};
export const USE_DISTRICT = {
  kind: "categories", title: { en: "Use district (zoning)", ja: "用途地域" }, units: { en: "PLATEAU urf:UseDistrict", ja: "都市計画 (urf)" },
  categories: [
    { value: "9", colour: "#F5A3C0", label: { ja: "近隣商業地域", en: "Neighbourhood commercial zone" } },
    { value: "10", colour: "#E8506E", label: { ja: "商業地域", en: "Commercial zone" } },
  ],
  other: "#BDBDBD",
};

const scenario = (season, slot, date, start, end) => ({ name: `${season}_${slot}`, season, slot, date, start, end });

export function manifest() {
  return {
    format: "machi-viewer/1", name: "fixture", timezone: "Asia/Tokyo",
    scenarios: [
      scenario("summer_solstice", "morning", "2026-06-21", "08:00", "11:00"),
      scenario("summer_solstice", "midday", "2026-06-21", "11:00", "14:00"),
      scenario("summer_solstice", "afternoon", "2026-06-21", "14:00", "17:00"),
      scenario("winter_solstice", "morning", "2026-12-21", "08:00", "11:00"),
      scenario("winter_solstice", "midday", "2026-12-21", "11:00", "14:00"),
    ],
    seasons: [{ name: "summer_solstice", label: { en: "summer solstice", ja: "夏至" } },
              { name: "winter_solstice", label: { en: "winter solstice", ja: "冬至" } }],
    slots: [{ name: "morning", label: { en: "morning", ja: "朝" }, start: "08:00", end: "11:00" },
            { name: "midday", label: { en: "midday", ja: "昼" }, start: "11:00", end: "14:00" },
            { name: "afternoon", label: { en: "afternoon", ja: "午後" }, start: "14:00", end: "17:00" }],
    layer_order: ["buildings", "streets", "shade_hours", "sun_hours", "flow", "use_districts"],
    layers: {
      buildings: { type: "3dtiles", url: "../3dtiles/bldg/tileset.json", visible: true },
      streets: { type: "3dtiles", url: "streets/tileset.json", separator: "__", visible: true },
      shade_hours: { type: "xyz", by: "scenario", legend: "shade_hours", visible: true },
      sun_hours: { type: "xyz", by: "season", legend: "shade_hours", visible: false },
      use_districts: { type: "geojson", legend: "use_district", property: "code", visible: false },
      terrain: { type: "heightmap", toggle: false, visible: true },
    },
    unavailable: { flow: { en: "this run has no people-flow data", ja: "人流データがありません" } },
    street_colouring: [{ id: "class", legend: "class" }, { id: "score", legend: "score" },
                       { id: "people_per_100m", legend: "score", available: false }],
    building_colouring: [{ id: "none" }, { id: "walk_score", property: "walk_score_{scenario}", legend: "score" }],
    legends: { score: SCORE, shade_hours: SHADE_HOURS, class: CLASS, use_district: USE_DISTRICT },
  };
}
