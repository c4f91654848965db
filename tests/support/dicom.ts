import { randomBytes } from 'node:crypto';
import dcmjs from 'dcmjs';

const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
const SOP_CLASS = { CT: '1.2.840.10008.5.1.4.1.1.2', MR: '1.2.840.10008.5.1.4.1.1.4' } as const;

export interface SeriesOptions {
  modality: 'CT' | 'MR';
  patientName: string;
  patientId: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  instances: number;
  rows: number;
  columns: number;
  institutionName?: string;
  /** IssuerOfPatientID (0010,0021); absent when not given. */
  issuerOfPatientId?: string;
  studyDescription?: string;
  seriesDescription?: string;
  seriesNumber?: number;
  accessionNumber?: string;
}

export interface GeneratedSeries {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUids: string[];
  files: Uint8Array[];
}

/** A random UID under the UUID-derived root 2.25 (at most 44 chars). */
export function makeUid(): string {
  return `2.25.${BigInt(`0x${randomBytes(16).toString('hex')}`).toString(10)}`;
}

function dicomDateTime(d: Date): { date: string; time: string } {
  const p = (n: number): string => String(n).padStart(2, '0');
  return {
    date: `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}`,
    time: `${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`,
  };
}

/**
 * A head-like phantom: ellipse "body" with a soft gradient plus a bright disc that moves with
 * the slice, so every rendered frame is visibly different and not blank.
 * CT: signed Hounsfield-style stored values (intercept -1024); MR: 12-bit unsigned.
 */
function phantom(modality: 'CT' | 'MR', rows: number, columns: number, slice: number, slices: number): Int16Array | Uint16Array {
  const pixels = modality === 'CT' ? new Int16Array(rows * columns) : new Uint16Array(rows * columns);
  const cy = rows / 2;
  const cx = columns / 2;
  const t = slices > 1 ? slice / (slices - 1) : 0.5;
  const discX = cx + (columns / 5) * Math.cos(2 * Math.PI * t);
  const discY = cy + (rows / 5) * Math.sin(2 * Math.PI * t);
  const discR = Math.max(2, Math.min(rows, columns) / 10);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      const ex = (x - cx) / (columns * 0.42);
      const ey = (y - cy) / (rows * 0.46);
      const inBody = ex * ex + ey * ey <= 1;
      const inDisc = (x - discX) ** 2 + (y - discY) ** 2 <= discR * discR;
      const gradient = x / Math.max(1, columns - 1); // 0..1 left to right
      let value: number;
      if (modality === 'CT') {
        const hu = inDisc ? 700 : inBody ? 20 + 60 * gradient : -1000;
        value = hu + 1024; // stored value; RescaleIntercept -1024 maps back to HU
      } else {
        value = inDisc ? 3800 : inBody ? 800 + 1600 * gradient : 0;
      }
      pixels[y * columns + x] = Math.round(value);
    }
  }
  return pixels;
}

/** Uncompressed explicit-VR little-endian MONOCHROME2 16-bit single-frame images of one series. */
export function makeSeries(opts: SeriesOptions): GeneratedSeries {
  const studyInstanceUid = opts.studyInstanceUid ?? makeUid();
  const seriesInstanceUid = opts.seriesInstanceUid ?? makeUid();
  const frameOfReferenceUid = makeUid();
  const { date, time } = dicomDateTime(new Date());
  const sopClassUid = SOP_CLASS[opts.modality];
  const isCT = opts.modality === 'CT';
  const spacing = 0.8;
  const thickness = 2.5;

  const sopInstanceUids: string[] = [];
  const files: Uint8Array[] = [];
  for (let i = 0; i < opts.instances; i++) {
    const sopInstanceUid = makeUid();
    const z = i * thickness;
    const pixels = phantom(opts.modality, opts.rows, opts.columns, i, opts.instances);
    const dataset: Record<string, unknown> = {
      SpecificCharacterSet: 'ISO_IR 192',
      ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
      SOPClassUID: sopClassUid,
      SOPInstanceUID: sopInstanceUid,
      StudyDate: date,
      SeriesDate: date,
      ContentDate: date,
      StudyTime: time,
      SeriesTime: time,
      ContentTime: time,
      AccessionNumber: opts.accessionNumber ?? '',
      Modality: opts.modality,
      Manufacturer: 'orthanc-oidc-gateway tests',
      InstitutionName: opts.institutionName ?? 'Test Hospital',
      ReferringPhysicianName: '',
      StudyDescription: opts.studyDescription ?? `${opts.modality} test study`,
      SeriesDescription: opts.seriesDescription ?? `${opts.modality} phantom`,
      PatientName: opts.patientName,
      PatientID: opts.patientId,
      ...(opts.issuerOfPatientId !== undefined ? { IssuerOfPatientID: opts.issuerOfPatientId } : {}),
      PatientBirthDate: '19700101',
      PatientSex: 'O',
      SliceThickness: thickness,
      StudyInstanceUID: studyInstanceUid,
      SeriesInstanceUID: seriesInstanceUid,
      StudyID: '1',
      SeriesNumber: opts.seriesNumber ?? 1,
      InstanceNumber: i + 1,
      // DS is limited to 16 chars: keep decimals short.
      ImagePositionPatient: [-(opts.columns * spacing) / 2, -(opts.rows * spacing) / 2, z].map((v) => Number(v.toFixed(3))),
      ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
      FrameOfReferenceUID: frameOfReferenceUid,
      PositionReferenceIndicator: '',
      SliceLocation: z,
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: opts.rows,
      Columns: opts.columns,
      PixelSpacing: [spacing, spacing],
      BitsAllocated: 16,
      BitsStored: isCT ? 16 : 12,
      HighBit: isCT ? 15 : 11,
      PixelRepresentation: isCT ? 1 : 0,
      WindowCenter: isCT ? 40 : 2000,
      WindowWidth: isCT ? 400 : 4000,
      PixelData: [pixels.buffer],
      _vrMap: { PixelData: 'OW' },
    };
    if (isCT) {
      Object.assign(dataset, { RescaleIntercept: -1024, RescaleSlope: 1, RescaleType: 'HU', KVP: 120 });
    } else {
      Object.assign(dataset, { MagneticFieldStrength: 1.5, EchoTime: 10, RepetitionTime: 500, ScanningSequence: 'SE', SequenceVariant: 'NONE' });
    }

    const version = new Uint8Array([0, 1]);
    const meta = dcmjs.data.DicomMetaDictionary.denaturalizeDataset({
      FileMetaInformationVersion: version.buffer,
      MediaStorageSOPClassUID: sopClassUid,
      MediaStorageSOPInstanceUID: sopInstanceUid,
      TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
      ImplementationClassUID: '2.25.80302813137786398554742050926734630921603366648225212145404',
      ImplementationVersionName: 'oidc-gw-tests',
    });
    const dict = new dcmjs.data.DicomDict(meta);
    dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
    const written: ArrayBuffer = dict.write();
    sopInstanceUids.push(sopInstanceUid);
    files.push(new Uint8Array(written));
  }
  return { studyInstanceUid, seriesInstanceUid, sopInstanceUids, files };
}

/** One study made of several series (e.g. a CT and an MR), all sharing the StudyInstanceUID. */
export function makeStudyFiles(
  patient: { patientName: string; patientId: string; studyDescription?: string; institutionName?: string },
  series: Array<Pick<SeriesOptions, 'modality' | 'instances' | 'rows' | 'columns'> & { seriesDescription?: string }>,
): { studyInstanceUid: string; series: GeneratedSeries[]; files: Uint8Array[] } {
  const studyInstanceUid = makeUid();
  const made = series.map((s, index) => makeSeries({ ...patient, ...s, studyInstanceUid, seriesNumber: index + 1 }));
  return { studyInstanceUid, series: made, files: made.flatMap((s) => s.files) };
}
