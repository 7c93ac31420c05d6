/** The data layer's public API (the store, file import/export, validation, resampling). */
export { openStore, type Store, type BarKey, type BarData, type TimeRange, type LoadOptions, type LoadedBars, type DatasetInfo, type WriteResult } from './store.ts';
export { importFile, IMPORT_FORMATS, type ImportFormat, type ImportOptions, type ImportResult } from './import.ts';
export { exportBars, type ExportFormat, type ExportOptions, type ExportResult } from './export.ts';
export { validateBars, formatReport as formatValidationReport, type ValidationReport, type ValidateOptions, type CheckResult, type GapCheck, type OutlierCheck } from './validate.ts';
export { resampleBars, type ResampleOptions } from './resample.ts';
export { datasetHash } from './columns.ts';
export { writeTrades, loadTrades, writeQuotes, loadQuotes, type TickKey, type TradeColumns, type QuoteColumns } from './ticks.ts';
