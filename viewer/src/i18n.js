// Words of the interface in Japanese and English. Data words (class names, legend
// titles and units) come from viewer.json, which the run writes in both languages.
// Pure: no document, window or Cesium (Node imports it in viewer/test/).

export const WORDS = {
  ja: {
    language: "言語", scenario: "シナリオ", season: "季節", slot: "時間帯", play: "再生", stop: "停止",
    colourStreets: "街路の色分け", colourBuildings: "建物の色分け", layers: "レイヤ",
    sunShadows: "太陽の影", shadowsAtTime: "シナリオの日時で Cesium の影を表示",
    compare: "比較", compareOn: "分割表示: 左が A、右が B", seasonB: "季節 B", slotB: "時間帯 B",
    beforeAfter: "施策前(左)と施策後(右)", layer_measures: "施策(植樹・日よけ・建物)",
    splitPosition: "分割位置", share: "共有・出力", saveImage: "画像を保存", copyLink: "リンクをコピー",
    districtTable: "地区別の表", loading: "読み込み中…", ready: "表示完了", noData: "データなし",
    none: "なし", whyScore: "このスコアの理由", score: "スコア", component: "構成要素", weight: "重み",
    value: "値", weather: "気象", radiation: "日射", walkedSide: "歩く側(快適な側)", side_left: "左側の歩道", side_right: "右側の歩道",
    side_centre: "中心線", shadeShare: "日陰率", peopleFlow: "人流", width: "幅員", slope: "勾配",
    scoreByScenario: "シナリオ別のスコア", building: "建物", flowCell: "人流メッシュ",
    population: "滞在人口", district: "地区", mesh: "メッシュ", name: "名称", streetLength: "街路延長",
    classLabel: "分類", flyTo: "移動", notInRun: "この実行には含まれていません",
    noFlowData: "人流データがありません", noLidar: "LiDAR 点群がありません", linkCopied: "リンクをコピーしました",
    imageSaved: "画像を保存しました", scale: "縮尺", units_m: "m", perHundred: "人/100 m",
    noDataSlot: "この時間帯の人流データはありません(0 ではありません)",
    clickHint: "街路・建物・メッシュ・用途地域をクリックすると詳細を表示します。",
    layer_buildings: "建物", layer_trees: "樹木", layer_veg_lidar: "LiDAR検出樹木", layer_terrain3d: "地形(3D Tiles)", layer_roads: "道路",
    layer_lidar: "LiDAR 点群", layer_streets: "街路(歩きやすさ)", layer_shade_hours: "日陰時間",
    layer_sun_hours: "日照時間(終日)", layer_flow: "人流(メッシュ)", layer_districts: "地区の境界",
    layer_use_districts: "用途地域", useDistrict: "用途地域", useDistrictOther: "用途地域(英語)",
    floorAreaRate: "容積率", coverageRate: "建蔽率", custodian: "決定者", validFrom: "告示日",
    notificationNumber: "告示番号", code: "コード",
    fixedDomain: "凡例をシナリオ間で固定(比較用)", priority: "まず対策すべき街路", about: "この地図について",
    priorityNote: "優先度 = 区間の滞在人口 × 強い暑熱ストレス(UTCI 32 °C 超)の時間 ×(1 − 日陰率)。日陰のない暑熱下の人・時間です。",
    noPriority: "このシナリオには優先度のある街路がありません(人流データまたは暑熱ストレスがありません)。",
    exportCsv: "CSV を保存", rank: "順位", street: "街路", hoursHeat: "暑熱(時間)", shadePct: "日陰率 %",
    personHours: "暑熱下の人・時間", priorityValue: "優先度", perHundredShort: "人/100 m", unnamed: "(名称なし)",
    formula: "式", formulaGate: "スコア = 100 × 温熱快適性 × 加重平均(その他の構成要素)",
    formulaWeight: "スコア = 100 × 加重平均(構成要素)", multiplies: "掛ける", raw: "実測値",
    scaled: "評価値 (0〜100)", selected: "選択中の街路", openReport: "印刷用レポート(report.html)を開く",
    method: "方法", sources: "データ出典", dates: "日付", caveats: "注意事項",
    aboutMethod: "歩きやすさスコアは、目的地へのアクセス、土地利用の多様性、交差点密度、勾配、幅員の加重平均に温熱快適性(UTCI)を掛けたものです(0〜100)。街路は快適な側の歩道で評価します。",
    aboutCaveats: "設計猛暑日と快晴は設計条件であり観測値ではありません。人流は 1 km メッシュの滞在人口を沿道建物の延床面積で街路に配分した推計で、時間帯が合わないシナリオには値がありません(0 ではありません)。凡例は既定でシナリオごとの値の範囲です。",
    weatherOf: "気象", flowSource: "人流", flowBasis: "値の意味", dayType: "日種別", day_weekday: "平日",
    day_holiday: "休日", day_all: "全日", scenarioDates: "シナリオの日付", close: "閉じる",
    classRule: "分類", scoreOf: "スコア", notInScore: "スコアに含めない", potentialShare: "ポテンシャルを有する延長 %",
    flowHow_mlit: "国交省の公表値", flowHow_counters: "カウンタの時間比で推計", flowHow_hourly: "時間帯別の表で推計",
    flowHow_profile: "時間変動モデル", flowHow_simulated: "シミュレーション",
  },
  en: {
    language: "Language", scenario: "Scenario", season: "Season", slot: "Time slot", play: "Play", stop: "Stop",
    colourStreets: "Colour streets by", colourBuildings: "Colour buildings by", layers: "Layers",
    sunShadows: "Sun shadows", shadowsAtTime: "Cesium sun shadows at the scenario time",
    compare: "Compare", compareOn: "Split view: A left, B right", seasonB: "Season B", slotB: "Time slot B",
    beforeAfter: "Before the measures (left), after (right)", layer_measures: "Measures (trees, canopies, buildings)",
    splitPosition: "Split position", share: "Share and export", saveImage: "Save image", copyLink: "Copy link",
    districtTable: "District table", loading: "loading…", ready: "view settled", noData: "no data",
    none: "none", whyScore: "Why this score", score: "Score", component: "Component", weight: "Weight",
    value: "Value", weather: "Weather", radiation: "Radiation", walkedSide: "Walked side (the more comfortable)", side_left: "left sidewalk",
    side_right: "right sidewalk", side_centre: "centre line", shadeShare: "Shade share", peopleFlow: "People flow", width: "Width", slope: "Slope",
    scoreByScenario: "Score in every scenario", building: "Building", flowCell: "People-flow cell",
    population: "Population present", district: "District", mesh: "Mesh", name: "Name", streetLength: "Street length",
    classLabel: "Class", flyTo: "Fly to", notInRun: "not in this run",
    noFlowData: "this run has no people-flow data", noLidar: "this run has no LiDAR points", linkCopied: "link copied",
    imageSaved: "image saved", scale: "Scale", units_m: "m", perHundred: "people / 100 m",
    noDataSlot: "no people-flow data for this time slot (not zero)",
    clickHint: "Click a street, building, mesh cell or use district for details.",
    layer_buildings: "Buildings", layer_trees: "Trees", layer_veg_lidar: "Trees from LiDAR", layer_terrain3d: "Terrain (3D Tiles)", layer_roads: "Roads",
    layer_lidar: "LiDAR points", layer_streets: "Streets (walkability)", layer_shade_hours: "Shade hours",
    layer_sun_hours: "Sun hours (whole day)", layer_flow: "People flow (mesh)", layer_districts: "District outlines",
    layer_use_districts: "Use districts (zoning)", useDistrict: "Use district", useDistrictOther: "Use district (Japanese)",
    floorAreaRate: "Floor-area rate", coverageRate: "Building-coverage rate", custodian: "Decided by",
    validFrom: "In force from",
    notificationNumber: "Notification", code: "Code",
    fixedDomain: "One legend across scenarios (to compare)", priority: "Where to act first", about: "About this map",
    priorityNote: "Priority = people present on the segment x hours in strong heat stress (UTCI above 32 °C) x (1 - shade share): unshaded person-hours in heat.",
    noPriority: "No street of this scenario has a priority (no people-flow data or no heat stress).",
    exportCsv: "Save CSV", rank: "Rank", street: "Street", hoursHeat: "Heat (h)", shadePct: "Shade %",
    personHours: "Person-hours in heat", priorityValue: "Priority", perHundredShort: "people/100 m", unnamed: "(unnamed) ",
    formula: "Formula", formulaGate: "score = 100 x thermal comfort x weighted mean (other components)",
    formulaWeight: "score = 100 x weighted mean (components)", multiplies: "multiplies", raw: "Measured",
    scaled: "Scaled (0-100)", selected: "Selected street", openReport: "Open the printed report (report.html)",
    method: "Method", sources: "Data sources", dates: "Dates", caveats: "Caveats",
    aboutMethod: "The walkability score is the weighted mean of access to destinations, land-use mix, intersection density, slope and width, multiplied by thermal comfort (UTCI), 0-100. Streets are read on their more comfortable sidewalk.",
    aboutCaveats: "A design heat day and a clear sky are design cases, not observations. People flow is the 1 km mesh population present, spread on streets by the floor area along them (an estimate); slots the data do not cover have no value (not zero). Legends span each scenario's own values unless fixed.",
    weatherOf: "Weather", flowSource: "People flow", flowBasis: "What the value is", dayType: "Day type",
    day_weekday: "weekday", day_holiday: "holiday", day_all: "all days", scenarioDates: "Scenario dates", close: "Close",
    classRule: "Class", scoreOf: "Score", notInScore: "not in the score", potentialShare: "Potential (walkable, under-used) %",
    flowHow_mlit: "as MLIT publishes it", flowHow_counters: "scaled by the counters' hourly shares",
    flowHow_hourly: "scaled by the hourly tables", flowHow_profile: "diurnal profile model", flowHow_simulated: "simulated",
  },
};

// Building attribute names as planners read them (PLATEAU / i-UR terms).
export const ATTRIBUTE_LABELS = {
  ja: {
    feature_id: "ID", gml_id: "gml:id", building_id: "建物ID", usage: "用途", usage_code: "用途コード",
    measured_height: "計測高さ (m)", height_m: "高さ (m)", storeys_above_ground: "地上階数",
    storeys_below_ground: "地下階数", year_of_construction: "建築年", total_floor_area: "延床面積 (m²)",
    building_structure_type: "構造種別", building_structure_type_code: "構造種別コード",
    flood_depth_max_m: "想定浸水深(最大, m)", ground_elevation_m: "地盤高 (m)", mesh_code: "メッシュコード",
    roof_shade_hours: "屋根の日陰時間 (時間)", surround_shade_hours: "周囲の日陰時間 (時間)",
    walk_score: "最寄り街路の歩きやすさスコア", walk_class: "最寄り街路の分類", max_lod: "最大 LOD",
    source_file: "元ファイル", feature_type: "地物型",
  },
  en: {
    feature_id: "ID", gml_id: "gml:id", building_id: "Building ID", usage: "Usage", usage_code: "Usage code",
    measured_height: "Measured height (m)", height_m: "Height (m)", storeys_above_ground: "Storeys above ground",
    storeys_below_ground: "Storeys below ground", year_of_construction: "Year of construction",
    total_floor_area: "Total floor area (m²)", building_structure_type: "Structure",
    building_structure_type_code: "Structure code", flood_depth_max_m: "Flood depth, max (m)",
    ground_elevation_m: "Ground elevation (m)", mesh_code: "Mesh code",
    roof_shade_hours: "Roof shade hours (h)", surround_shade_hours: "Surroundings shade hours (h)",
    walk_score: "Walk score of the nearest street", walk_class: "Class of the nearest street", max_lod: "Highest LOD",
    source_file: "Source file", feature_type: "Feature type",
  },
};

/** The interface word `key` in `lang` ("ja" or "en"), else in English, else the key itself. */
export function translate(lang, key) {
  return (WORDS[lang] || WORDS.en)[key] || WORDS.en[key] || key;
}

/** A data label of viewer.json in `lang`: a plain string, or a {en, ja} object (English,
 * then its first language, when `lang` is missing); "" for no label. */
export function labelIn(label, lang) {
  if (label === undefined || label === null) return "";
  if (typeof label === "string") return label;
  return label[lang] || label.en || Object.values(label)[0];
}
