import { describe, expect, it } from 'vitest';
import { InputError } from '../../engine/errors.ts';
import { matchLots, taxReport, type TaxFill, type TaxRow } from '../../reports/tax.ts';
import { holdingTerm } from '../../reports/holding-period.ts';
import { divRound, formatExact, parseExact, toCents } from '../../reports/exact.ts';
import { fillsFromJournal, parseFills, parseFillsCsv, parseFillsJsonl } from '../../reports/tax-fills.ts';
import { clone, sampleJournal } from '../engine/journal.support.ts';
import { buy, cents, day, sell } from './tax.support.ts';

/**
 * Hand-worked examples. Every expected figure is worked in the comments from the rule the IRS
 * instructions give (basis = price × qty + fee; proceeds = price × qty − fee; short-term = held
 * one year or less, counted from the day after acquisition) and the report's rounding rule
 * (each fill rounded once to cents, half up; a split fill shares its cents pro rata, the last
 * piece taking what is left).
 */
const row = (r: TaxRow) => [r.description, r.dateAcquired, r.dateSold, r.proceeds, r.costBasis, r.gain, r.term];

// Lots: b1 1 BTC @ 17,000 + $10 fee  → basis 17,010.00 (unit 17,010)
//       b2 1 BTC @ 27,000 + $15      → basis 27,015.00 (unit 27,015)
//       b3 1 BTC @ 26,000 + $13      → basis 26,013.00 (unit 26,013)
// Sale: s1 1.5 BTC @ 62,000 − $20    → proceeds 93,000 − 20 = 92,980.00
// Whichever lots, the first piece (1 BTC) gets 92,980 × 1/1.5 = 61,986.666… → 61,986.67 and the
// 0.5 BTC piece the rest, 92,980.00 − 61,986.67 = 30,993.33.
const history = [
  buy('b1', '2023-01-10', 1, 17000, 10),
  buy('b2', '2023-06-01', 1, 27000, 15),
  buy('b3', '2023-09-01', 1, 26000, 13),
  sell('s1', '2024-03-01', 1.5, 62000, 20),
];

describe('Form 8949 rows, hand-worked', () => {
  it('FIFO: 1 BTC of b1 (held > 1 year: long) and 0.5 BTC of b2 (short)', () => {
    const r = taxReport(history, { method: 'fifo', year: 2024 });
    // b1: held 2023-01-11 … 2024-03-01, more than a year. 61,986.67 − 17,010.00 = 44,976.67
    expect(r.partII.rows.map(row)).toEqual([['1 BTC', '2023-01-10', '2024-03-01', '61986.67', '17010.00', '44976.67', 'long']]);
    // b2: half of 27,015.00 = 13,507.50; 30,993.33 − 13,507.50 = 17,485.83
    expect(r.partI.rows.map(row)).toEqual([['0.5 BTC', '2023-06-01', '2024-03-01', '30993.33', '13507.50', '17485.83', 'short']]);
    expect(r.scheduleD.shortTerm).toMatchObject({ label: 'Short-term totals from Form 8949 Part I', line: '3', proceeds: '30993.33', costBasis: '13507.50', gain: '17485.83' });
    expect(r.scheduleD.longTerm).toMatchObject({ label: 'Long-term totals from Form 8949 Part II', line: '10', proceeds: '61986.67', costBasis: '17010.00', gain: '44976.67' });
    // 17,485.83 + 44,976.67 = 62,462.50
    expect(r.scheduleD.netGain).toBe('62462.50');
    expect([r.partI.box, r.partII.box]).toEqual(['C', 'F']);
  });

  it('LIFO: 1 BTC of b3, then 0.5 BTC of b2, both short', () => {
    const r = taxReport(history, { method: 'lifo', year: 2024 });
    expect(r.partII.rows).toEqual([]);
    expect(r.partI.rows.map(row)).toEqual([
      // 61,986.67 − 26,013.00 = 35,973.67
      ['1 BTC', '2023-09-01', '2024-03-01', '61986.67', '26013.00', '35973.67', 'short'],
      // 30,993.33 − 13,507.50 = 17,485.83
      ['0.5 BTC', '2023-06-01', '2024-03-01', '30993.33', '13507.50', '17485.83', 'short'],
    ]);
    // proceeds 92,980.00; basis 26,013.00 + 13,507.50 = 39,520.50; gain 53,459.50
    expect(r.scheduleD.shortTerm).toMatchObject({ proceeds: '92980.00', costBasis: '39520.50', gain: '53459.50', rows: 2 });
  });

  it('HIFO: the dearest units first, fee included (b2 at 27,015, then b3 at 26,013)', () => {
    const r = taxReport(history, { method: 'hifo', year: 2024 });
    expect(r.partI.rows.map(row)).toEqual([
      // 61,986.67 − 27,015.00 = 34,971.67
      ['1 BTC', '2023-06-01', '2024-03-01', '61986.67', '27015.00', '34971.67', 'short'],
      // half of 26,013.00 = 13,006.50; 30,993.33 − 13,006.50 = 17,986.83
      ['0.5 BTC', '2023-09-01', '2024-03-01', '30993.33', '13006.50', '17986.83', 'short'],
    ]);
    expect(r.scheduleD.shortTerm).toMatchObject({ proceeds: '92980.00', costBasis: '40021.50', gain: '52958.50' });
  });

  it('HIFO ranks by cost per unit with the fee: a lower price with a big fee can be the dearer lot', () => {
    // x: 1 @ 100 + 0 = 100/unit; y: 1 @ 99 + 2 = 101/unit → y goes first.
    const fills = [buy('x', '2024-01-01', 1, 100, 0), buy('y', '2024-01-02', 1, 99, 2), sell('s', '2024-02-01', 1, 150, 0)];
    expect(matchLots(fills, { method: 'hifo' }).rows.map((r) => r.lotOrderId)).toEqual(['y']);
  });

  it('specific identification: the lots the taxpayer named, in the order named', () => {
    const r = taxReport(history, { method: 'specific', year: 2024, specific: { s1: [{ lot: 'b3', qty: '0.5' }, { lot: 'b1', qty: 1 }] } });
    // first piece 0.5 BTC of b3: 92,980 × 0.5/1.5 = 30,993.333… → 30,993.33; basis 13,006.50; gain 17,986.83 (short)
    expect(r.partI.rows.map(row)).toEqual([['0.5 BTC', '2023-09-01', '2024-03-01', '30993.33', '13006.50', '17986.83', 'short']]);
    // last piece 1 BTC of b1: 92,980.00 − 30,993.33 = 61,986.67; basis 17,010.00; gain 44,976.67 (long)
    expect(r.partII.rows.map(row)).toEqual([['1 BTC', '2023-01-10', '2024-03-01', '61986.67', '17010.00', '44976.67', 'long']]);
    expect(r.unidentified).toEqual([]);
  });

  it('specific identification: a sell left out is matched FIFO (the default rule) and listed', () => {
    const fills = [...history, sell('s2', '2024-04-01', 1, 70000, 0)];
    const r = taxReport(fills, { method: 'specific', year: 2024, specific: { s1: [{ lot: 'b1', qty: 1 }, { lot: 'b3', qty: 0.5 }] } });
    expect(r.unidentified).toEqual(['s2']);
    // s2 takes the oldest units left: 1 BTC of b2 (27,015.00), sold 2024-04-01: 70,000 − 27,015 = 42,985.00, short
    expect(r.partI.rows.filter((x) => x.sellOrderId === 's2').map(row)).toEqual([['1 BTC', '2023-06-01', '2024-04-01', '70000.00', '27015.00', '42985.00', 'short']]);
  });

  it('HIFO ties (same cost per unit, fee included) go to the older lot', () => {
    // x: 2 @ 50 + 2 = 51/unit; y: 1 @ 50.5 + 0.5 = 51/unit
    const fills = [buy('x', '2024-01-01', 2, 50, 2), buy('y', '2024-01-02', 1, '50.5', '0.5'), sell('s', '2024-02-01', 1, 60, 0)];
    expect(matchLots(fills, { method: 'hifo' }).rows.map((r) => r.lotOrderId)).toEqual(['x']);
  });

  it('specific identification across split orders: a sell order filled twice, a buy order filled twice', () => {
    // buy order b filled as 0.4 @ 100 (+0.4) and 0.6 @ 101 (+0.6): lots 40.40 and 61.20, taken in fill order
    // sell order s filled as 0.5 @ 120 (−0.5 → 59.50) then 0.3 @ 121 (−0.3 → 36.00); identified as 0.7 of b, then 0.1 of a
    const fills = [
      buy('a', '2024-01-01', 1, 90, 0),
      buy('b', '2024-01-02', 0.4, 100, 0.4), buy('b', '2024-01-03', 0.6, 101, 0.6),
      sell('s', '2024-02-01', 0.5, 120, 0.5), sell('s', '2024-02-02', 0.3, 121, 0.3),
    ];
    const rows = matchLots(fills, { method: 'specific', specific: { s: [{ lot: 'b', qty: '0.7' }, { lot: 'a', qty: '0.1' }] } }).rows;
    expect(rows.map((r) => [r.dateSold, r.lotOrderId, r.dateAcquired, r.quantity, r.proceeds, r.costBasis])).toEqual([
      // first sell fill (59.50): 0.4 of b's first fill gets 59.50 × 0.4/0.5 = 47.60, basis 40.40; 0.1 of b's second fill the rest 11.90, basis 61.20 × 0.1/0.6 = 10.20
      ['2024-02-01', 'b', '2024-01-02', '0.4', '47.60', '40.40'],
      ['2024-02-01', 'b', '2024-01-03', '0.1', '11.90', '10.20'],
      // second sell fill (36.00): 0.2 of b's second fill gets 36.00 × 0.2/0.3 = 24.00, basis 51.00 × 0.2/0.5 = 20.40; 0.1 of a the rest 12.00, basis 9.00
      ['2024-02-02', 'b', '2024-01-03', '0.2', '24.00', '20.40'],
      ['2024-02-02', 'a', '2024-01-01', '0.1', '12.00', '9.00'],
    ]);
  });

  it('a fee split three ways: shares rounded half up, the last piece takes the rest, the sum is exact', () => {
    const fills = [buy('a', '2024-01-01', 1, 100, 0), buy('b', '2024-01-02', 1, 100, 0), buy('c', '2024-01-03', 1, 100, 0), sell('s', '2024-02-01', 3, 100, 1)];
    // net 300 − 1 = 299.00. a: 299 × 1/3 = 99.666… → 99.67; left 199.33. b: 199.33 × 1/2 = 99.665 → 99.67 (half up); c: 199.33 − 99.67 = 99.66
    const r = taxReport(fills, { method: 'fifo', year: 2024 });
    expect(r.partI.rows.map((x) => [x.lotOrderId, x.proceeds, x.costBasis, x.gain])).toEqual([
      ['a', '99.67', '100.00', '-0.33'], ['b', '99.67', '100.00', '-0.33'], ['c', '99.66', '100.00', '-0.34'],
    ]);
    expect(r.scheduleD.shortTerm).toMatchObject({ proceeds: '299.00', costBasis: '300.00', gain: '-1.00' });
  });

  it('a lot sold in pieces: each piece pro rata, the last one the rest of the lot\'s cents', () => {
    // basis 3 × 10.00 + 0.01 = 30.01. 1 unit: 30.01/3 = 10.0033… → 10.00, left 20.01; 1 of 2: 10.005 → 10.01 (half up); last: 10.00
    const fills = [buy('a', '2024-01-01', 3, 10, 0.01), sell('s1', '2024-02-01', 1, 12, 0), sell('s2', '2024-02-02', 1, 12, 0), sell('s3', '2024-02-03', 1, 12, 0)];
    expect(matchLots(fills, { method: 'fifo' }).rows.map((r) => r.costBasis)).toEqual(['10.00', '10.01', '10.00']);
  });
});

describe('holding period (IRS: starts the day after acquisition; more than one year is long-term; UTC dates)', () => {
  const term = (acq: string, sold: string) => holdingTerm(day(acq), day(sold));

  it('bought 2023-03-15: sold 2024-03-15 is short-term, 2024-03-16 long-term', () => {
    expect(term('2023-03-15', '2024-03-15')).toBe('short');
    expect(term('2023-03-15', '2024-03-16')).toBe('long');
    const r = taxReport([buy('b', '2023-03-15', 2, 100, 0), sell('s1', '2024-03-15', 1, 150, 0), sell('s2', '2024-03-16', 1, 150, 0)], { method: 'fifo', year: 2024 });
    expect([r.partI.rows.map((x) => x.sellOrderId), r.partII.rows.map((x) => x.sellOrderId)]).toEqual([['s1'], ['s2']]);
  });

  it('dates are UTC calendar dates, whatever the hour', () => {
    expect(holdingTerm(Date.parse('2023-03-15T23:59:59Z'), Date.parse('2024-03-16T00:00:00Z'))).toBe('long');
    // 23:30 in New York on the 15th is already the 16th in UTC
    expect(holdingTerm(Date.parse('2023-03-15T23:30:00-05:00'), Date.parse('2024-03-16T12:00:00Z'))).toBe('short');
  });

  it('leap year: bought 2023-02-28, the period starts 2023-03-01, so 2024-02-29 is still one year or less', () => {
    expect(term('2023-02-28', '2024-02-29')).toBe('short');
    expect(term('2023-02-28', '2024-03-01')).toBe('long');
  });

  it('bought on 2024-02-29: period starts 2024-03-01; short through 2025-02-28, long from 2025-03-01', () => {
    expect(term('2024-02-29', '2025-02-28')).toBe('short');
    expect(term('2024-02-29', '2025-03-01')).toBe('long');
    // bought 2024-02-28: period starts 2024-02-29, one year covers up to 2025-02-28
    expect(term('2024-02-28', '2025-02-28')).toBe('short');
    expect(term('2024-02-28', '2025-03-01')).toBe('long');
  });

  it('bought on the last day of a month: long-term from the first day of the 13th month', () => {
    expect(term('2023-01-31', '2024-01-31')).toBe('short');
    expect(term('2023-01-31', '2024-02-01')).toBe('long');
    expect(term('2023-12-31', '2024-12-31')).toBe('short');
    expect(term('2023-12-31', '2025-01-01')).toBe('long');
  });
});

describe('several symbols and years', () => {
  // ETH bought on ETH/USDC, BTC bought on BTC/USDT and BTC/USDC: one BTC holding.
  const fills: TaxFill[] = [
    buy('e1', '2022-05-01', 2, '2800.50', '5.60', 'ETH/USDC'), //  5,601.00 + 5.60 = 5,606.60
    buy('b1', '2022-11-20', 0.25, 16000, 4, 'BTC/USDT'), //         4,000.00 + 4.00 = 4,004.00
    sell('e2', '2023-04-10', 0.5, '1900.10', '0.95', 'ETH/USDC'), //  950.05 − 0.95 = 949.10
    buy('b2', '2023-08-01', 0.25, 29000, 7.25, 'BTC/USDC'), //      7,250.00 + 7.25 = 7,257.25
    sell('b3', '2024-01-15', 0.3, 42000, 12.6, 'BTC/USDT'), //     12,600.00 − 12.60 = 12,587.40
    sell('e3', '2024-06-01', 1.5, 3800, 5.7, 'ETH/USDC'), //        5,700.00 − 5.70 = 5,694.30
  ];

  it('2023: the ETH sale of a 2022 lot, a loss, short-term', () => {
    const r = taxReport(fills, { method: 'fifo', year: 2023 });
    // basis 5,606.60 × 0.5/2 = 1,401.65; 949.10 − 1,401.65 = −452.55
    expect(r.partI.rows.map(row)).toEqual([['0.5 ETH', '2022-05-01', '2023-04-10', '949.10', '1401.65', '-452.55', 'short']]);
    expect(r.partII.rows).toEqual([]);
    expect(r.scheduleD.netGain).toBe('-452.55');
  });

  it('2024: lots from 2022 and 2023, across markets of the same asset', () => {
    const r = taxReport(fills, { method: 'fifo', year: 2024 });
    // 0.3 BTC: 0.25 of b1 gets 12,587.40 × 0.25/0.3 = 10,489.50; 0.05 of b2 the rest, 2,097.90
    // b2 basis 7,257.25 × 0.05/0.25 = 1,451.45 → gain 646.45 (short: 2023-08-01 → 2024-01-15)
    expect(r.partI.rows.map(row)).toEqual([['0.05 BTC', '2023-08-01', '2024-01-15', '2097.90', '1451.45', '646.45', 'short']]);
    expect(r.partII.rows.map(row)).toEqual([
      // 10,489.50 − 4,004.00 = 6,485.50
      ['0.25 BTC', '2022-11-20', '2024-01-15', '10489.50', '4004.00', '6485.50', 'long'],
      // the rest of e1: 5,606.60 − 1,401.65 = 4,204.95; 5,694.30 − 4,204.95 = 1,489.35
      ['1.5 ETH', '2022-05-01', '2024-06-01', '5694.30', '4204.95', '1489.35', 'long'],
    ]);
    // long: 10,489.50 + 5,694.30 = 16,183.80; 4,004.00 + 4,204.95 = 8,208.95; gain 7,974.85; net + 646.45 = 8,621.30
    expect(r.scheduleD.longTerm).toMatchObject({ proceeds: '16183.80', costBasis: '8208.95', gain: '7974.85', rows: 2 });
    expect(r.scheduleD.netGain).toBe('8621.30');
  });

  it('what is still held: 0.2 BTC of b2 with the rest of its basis (7,257.25 − 1,451.45 = 5,805.80)', () => {
    const l = matchLots(fills, { method: 'fifo' });
    expect(l.openLots.map((o) => [o.asset, o.lotOrderId, o.quantity, o.costBasis])).toEqual([['BTC', 'b2', '0.2', '5805.80']]);
    expect(l.years).toEqual([2023, 2024]);
  });

  it('a year without sales has empty parts and zero totals', () => {
    const r = taxReport(fills, { method: 'fifo', year: 2022 });
    expect([r.partI.rows.length, r.partII.rows.length, r.scheduleD.netGain, r.scheduleD.shortTerm.proceeds]).toEqual([0, 0, '0.00', '0.00']);
  });
});

describe('exact quantities', () => {
  it('decimal text and floats are read as the decimals they print as', () => {
    const r = matchLots([buy('a', '2024-01-01', 0.1, 3, 0), buy('b', '2024-01-01', 0.2, 3, 0), sell('s', '2024-02-01', 0.3, 4, 0)], { method: 'fifo' });
    expect(r.rows.map((x) => x.quantity)).toEqual(['0.1', '0.2']);
    expect(r.residues).toEqual([]);
    expect(r.openLots).toEqual([]);
  });

  it('float residue from the engine (0.1 + 0.2 sold as one position) is absorbed and listed', () => {
    const over = matchLots([buy('a', '2024-01-01', 0.1, 3, 0), buy('b', '2024-01-01', 0.2, 3, 0), sell('s', '2024-02-01', 0.1 + 0.2, 4, 0)], { method: 'fifo' });
    expect(over.residues).toEqual([{ kind: 'sell-exceeds-holdings', orderId: 's', fill: 2, sellFill: 2, qty: '0.00000000000000004' }]);
    // all the proceeds go to the units that were there: 0.30000000000000004 × 4 = 1.2000… → 1.20
    expect(over.rows.map((x) => x.proceeds)).toEqual(['0.40', '0.80']);
    const under = matchLots([buy('a', '2024-01-01', 0.1 + 0.2, 3, 0), sell('s', '2024-02-01', 0.3, 4, 0)], { method: 'fifo' });
    expect(under.residues).toMatchObject([{ kind: 'lot-remainder', orderId: 'a', qty: '0.00000000000000004' }]);
    expect(under.openLots).toEqual([]);
    expect(() => matchLots([buy('a', '2024-01-01', 0.1, 3, 0), buy('b', '2024-01-01', 0.2, 3, 0), sell('s', '2024-02-01', 0.1 + 0.2, 4, 0)], { method: 'fifo', dust: 0 }))
      .toThrow(/short sale/);
  });

  it('exact.ts: decimals, half-up cents, terminating decimal text', () => {
    expect(formatExact(parseExact('1e-7')!)).toBe('0.0000001');
    expect(formatExact(parseExact('1.50e+2')!)).toBe('150');
    expect(formatExact(parseExact(-0.05)!)).toBe('-0.05');
    expect(parseExact('1,5')).toBeNull();
    expect(parseExact(Number.NaN)).toBeNull();
    expect([divRound(5n, 2n), divRound(-5n, 2n), divRound(4n, 3n), divRound(5n, 3n)]).toEqual([3n, -3n, 1n, 2n]);
    expect(toCents(parseExact('0.005')!)).toBe(1n);
    expect(toCents(parseExact('0.0049999')!)).toBe(0n);
  });
});

describe('bad input says what and where, and nothing is reported', () => {
  const bad = (fills: TaxFill[], msg: RegExp, opts: Parameters<typeof matchLots>[1] = { method: 'fifo' }) => {
    let err: unknown;
    try {
      matchLots(fills, opts);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(msg);
  };

  it('a short sale names the fill', () => {
    bad([buy('b', '2024-01-01', 1, 10, 0), sell('s', '2024-02-01', 1.5, 10, 0)], /fill 2 \(order s, sell 1\.5 BTC\/USD at 2024-02-01T12:00:00\.000Z\): sells 1\.5 BTC but only 1 is held.*short sale/);
    bad([sell('s', '2024-01-01', 1, 10, 0), buy('b', '2024-02-01', 1, 10, 0)], /order s.*only 0 is held/);
  });

  it('a pair quoted in another crypto asset, a derivative, a bad number', () => {
    bad([buy('b', '2024-01-01', 1, 0.05, 0, 'ETH/BTC')], /ETH\/BTC is quoted in BTC, not dollars/);
    bad([buy('b', '2024-01-01', 1, 10, 0, 'BTC/USDT:USDT')], /not a spot pair/);
    bad([buy('b', '2024-01-01', 0, 10, 0)], /fill 1 \(order b.*amount must be > 0/);
    bad([buy('b', '2024-01-01', 1, 10, -1)], /fee must be ≥ 0/);
    bad([buy('b', '2024-01-01', '1.2.3', 10, 0)], /amount "1\.2\.3" is not a decimal/);
    bad([{ ...buy('b', '2024-01-01', 1, 10, 0), ref: 'fills.csv:7' }, { ...buy('c', '2024-01-01', 1, 10, 0), ts: 1.5 }], /fill 2 .*ts must be integer/);
  });

  it('specific identification that does not fit the fills', () => {
    const s = (spec: Record<string, { lot: string; qty: string | number }[]>) => ({ method: 'specific' as const, specific: spec });
    bad(history, /names sell order "nope"/, s({ nope: [{ lot: 'b1', qty: 1 }] }));
    bad(history, /lot "s1" is not a buy order/, s({ s1: [{ lot: 's1', qty: 1.5 }] }));
    bad(history, /names 1 units, the order sold 1\.5/, s({ s1: [{ lot: 'b1', qty: 1 }] }));
    bad(history, /qty "-1" must be a decimal > 0/, s({ s1: [{ lot: 'b1', qty: '-1' }, { lot: 'b2', qty: '2.5' }] }));
    bad([...history, sell('s2', '2024-03-02', 1, 60000, 0)], /lot "b1", which has nothing left/, s({ s1: [{ lot: 'b1', qty: 1 }, { lot: 'b2', qty: 0.5 }], s2: [{ lot: 'b1', qty: 1 }] }));
    bad([sell('s0', '2022-12-01', 1, 1, 0), ...history], /lot "b1", which was not bought before this sale/, s({ s0: [{ lot: 'b1', qty: 1 }] }));
    bad([...history, buy('e', '2023-01-01', 1, 1000, 0, 'ETH/USD')], /lot "e" bought ETH, the sell sold BTC/, s({ s1: [{ lot: 'e', qty: 1 }, { lot: 'b1', qty: 0.5 }] }));
  });

  it('a bad tax year or method', () => {
    expect(() => taxReport(history, { method: 'fifo', year: 2024.5 })).toThrow(InputError);
    expect(() => taxReport(history, { method: 'fifo', year: 1999 })).toThrow(/2009/);
    expect(() => taxReport(history, { method: 'avg' as 'fifo', year: 2024 })).toThrow(/lot method must be one of/);
  });
});

describe('fills from files and journals', () => {
  it('CSV: header names, quoted cells, ISO or epoch-ms times, values kept as text', () => {
    const csv = 'time,Side,symbol,qty,price,fee,order_id,note\r\n' +
      '2023-01-10T12:00:00Z,buy,BTC/USD,1,17000,10,b1,"a, quoted ""note"""\r\n' +
      `${day('2024-03-01')},SELL,BTC/USD,0.5,62000.10,0,s1,\r\n`;
    expect(parseFillsCsv(csv, 'f.csv')).toEqual([
      { orderId: 'b1', symbol: 'BTC/USD', side: 'buy', amount: '1', price: '17000', fee: '10', ts: day('2023-01-10'), ref: 'f.csv:2' },
      { orderId: 's1', symbol: 'BTC/USD', side: 'sell', amount: '0.5', price: '62000.10', fee: '0', ts: day('2024-03-01'), ref: 'f.csv:3' },
    ]);
  });

  it('CSV and JSONL errors name the file, line and field', () => {
    expect(() => parseFillsCsv('orderId,symbol,side,amount,price,ts\nb,BTC/USD,buy,1,1,0\n', 'f.csv')).toThrow(/f\.csv:1: no fee column/);
    expect(() => parseFillsCsv('orderId,symbol,side,amount,price,fee,ts\nb,BTC/USD,hold,1,1,0,0\n', 'f.csv')).toThrow(/f\.csv:2: side must be buy or sell/);
    expect(() => parseFillsCsv('orderId,symbol,side,amount,price,fee,ts\nb,BTC/USD,buy,1,1,0,yesterday\n', 'f.csv')).toThrow(/f\.csv:2: ts: cannot read time "yesterday"/);
    expect(() => parseFillsJsonl('{"orderId":"b","symbol":"BTC/USD","side":"buy","amount":1,"price":1,"ts":0}\nnot json\n', 'f.jsonl')).toThrow(/f\.jsonl:2: not a JSON/);
    expect(() => parseFillsJsonl('{"orderId":"b","symbol":"BTC/USD","side":"buy","amount":1,"ts":0}\n', 'f.jsonl')).toThrow(/f\.jsonl:1: price/);
    // an error inside the report names the file line too
    const fills = parseFillsCsv('orderId,symbol,side,amount,price,fee,ts\nb,BTC/USD,buy,1,1,0,2024-01-01\ns,BTC/USD,sell,2,1,0,2024-01-02\n', 'f.csv');
    expect(() => matchLots(fills, { method: 'fifo' })).toThrow(/^f\.csv:3 \(order s/);
  });

  it('JSON: an array of fills in a .json file, errors naming the element', () => {
    const text = JSON.stringify([{ orderId: 'b', symbol: 'BTC/USD', side: 'buy', amount: '0.1', price: 5, ts: '2024-01-01' }, { orderId: 'c', symbol: 'BTC/USD', side: 'buy', amount: 1, price: 5 }]);
    expect(() => parseFills(text, 'f.json')).toThrow(/^f\.json\[1\]: ts/);
    expect(parseFills(JSON.stringify([JSON.parse(text)[0]]), 'f.json')).toEqual([{ orderId: 'b', symbol: 'BTC/USD', side: 'buy', amount: '0.1', price: 5, fee: 0, ts: Date.UTC(2024, 0, 1), ref: 'f.json[0]' }]);
    expect(() => parseFills('x', 'f.txt')).toThrow(/unknown fills format/);
  });

  it('a journal: its fill entries, after the hash chain verifies', () => {
    const entries = sampleJournal().entries();
    const fills = fillsFromJournal(entries, 'run r1');
    expect(fills.map((f) => [f.orderId, f.side, f.amount])).toEqual([['o1', 'buy', 0.5], ['o1', 'buy', 0.5], ['o2', 'sell', 0.4]]);
    // two lots of 0.5 @ 100 + 0.05 = 50.05 each; sell 0.4 @ 110 − 0.044 = 43.956 → 43.96;
    // basis 50.05 × 0.4/0.5 = 40.04; gain 3.92
    const r = taxReport(fills, { method: 'fifo', year: 2024 });
    expect(r.partI.rows.map((x) => [x.description, x.proceeds, x.costBasis, x.gain])).toEqual([['0.4 BTC', '43.96', '40.04', '3.92']]);
    const jsonl = entries.map((e) => JSON.stringify(e)).join('\n') + '\n';
    expect(parseFillsJsonl(jsonl, 'j.jsonl').map((f) => f.ref)).toEqual(['j.jsonl:5', 'j.jsonl:6', 'j.jsonl:10']);
    const tampered = clone(entries);
    (tampered[9]!.payload as { price: number }).price = 1;
    expect(() => fillsFromJournal(tampered, 'run r1')).toThrow(/run r1: the journal does not verify \(hash-mismatch at entry 10/);
  });
});
