// The reference models of tests/fixtures/brian2 (README there) as neurofit models.
import {
  NeuronModel,
  type NeuronModelOptions,
} from "../../lib/simulation/neuron_model.ts";

export const HH_TUTORIAL = `
dv/dt = (gl*(El-v) - g_na*(m*m*m)*h*(v-ENa) - g_kd*(n*n*n*n)*(v-EK) + I)/Cm : volt
dm/dt = 0.32*(mV**-1)*(13.*mV-v+VT)/(exp((13.*mV-v+VT)/(4.*mV))-1.)/ms*(1-m)
        - 0.28*(mV**-1)*(v-VT-40.*mV)/(exp((v-VT-40.*mV)/(5.*mV))-1.)/ms*m : 1
dn/dt = 0.032*(mV**-1)*(15.*mV-v+VT)/(exp((15.*mV-v+VT)/(5.*mV))-1.)/ms*(1.-n)
        - .5*exp((10.*mV-v+VT)/(40.*mV))/ms*n : 1
dh/dt = 0.128*exp((17.*mV-v+VT)/(18.*mV))/ms*(1.-h) - 4./(1+exp((40.*mV-v+VT)/(5.*mV)))/ms*h : 1
g_na : siemens (constant)
g_kd : siemens (constant)
gl   : siemens (constant)
`;

export const HH_NAMESPACE = {
  El: "-65 mV",
  EK: "-90 mV",
  ENa: "50 mV",
  VT: "-63 mV",
  Cm: "200 pF",
};

export function hhTutorial(options: NeuronModelOptions = {}): NeuronModel {
  return new NeuronModel(HH_TUTORIAL, {
    method: "exponential_euler",
    namespace: HH_NAMESPACE,
    ...options,
  });
}

export const LIF = "dv/dt = (El - v + R*I)/tau : volt (unless refractory)";
export function lif(method?: string): NeuronModel {
  return new NeuronModel(LIF, {
    namespace: { El: "-70 mV", R: "100 Mohm", tau: "10 ms" },
    threshold: "v > -50*mV",
    reset: "v = -65*mV",
    refractory: "5*ms",
    method,
  });
}

export const ADEX = `
dv/dt = (gL*(EL - v) + gL*DeltaT*exp((v - VT)/DeltaT) - w + I)/C : volt
dw/dt = (a*(v - EL) - w)/tau_w : amp
`;
export function adex(method?: string): NeuronModel {
  return new NeuronModel(ADEX, {
    namespace: {
      C: "281 pF",
      gL: "30 nS",
      EL: "-70.6 mV",
      VT: "-50.4 mV",
      DeltaT: "2 mV",
      tau_w: "144 ms",
      a: "4 nS",
      b: "0.0805 nA",
      Vcut: "-40.4 mV",
    },
    threshold: "v > Vcut",
    reset: "v = EL; w += b",
    method,
  });
}

export const EXPIF =
  "dv/dt = (gL*(EL-v)+gL*DeltaT*exp((v-VT)/DeltaT) + I)/C : volt";
export function expif(): NeuronModel {
  return new NeuronModel(EXPIF, {
    namespace: {
      EL: "-70 mV",
      VT: "-50 mV",
      DeltaT: "2 mV",
      gL: "30 nS",
      C: "1 nF",
    },
    threshold: "v > -50*mV",
    reset: "v = -70*mV",
    method: "exponential_euler",
  });
}

export const HH_SYNTHETIC = `
dVm/dt = -(g_Na*m**3*h*(Vm - E_Na) + g_K*n**4*(Vm - E_K) + g_l*(Vm - E_l) - I_inj)/C : volt
I_inj = ((I2 - I1)/(t_off - t_on)*(t - t_on) + I1)*int((t >= t_on) and (t < t_off)) : amp (shared)
dm/dt = alpha_m*(1-m) - beta_m*m : 1
dn/dt = alpha_n*(1-n) - beta_n*n : 1
dh/dt = alpha_h*(1-h) - beta_h*h : 1
alpha_m = ((-0.32/mV)*(Vm - VT - 13.*mV)/(exp((-(Vm - VT - 13.*mV))/(4.*mV)) - 1))/ms : Hz
beta_m  = ((0.28/mV)*(Vm - VT - 40.*mV)/(exp((Vm - VT - 40.*mV)/(5.*mV)) - 1))/ms : Hz
alpha_h = 0.128*exp(-(Vm - VT - 17.*mV)/(18.*mV))/ms : Hz
beta_h  = 4/(1 + exp((-(Vm - VT - 40.*mV))/(5.*mV)))/ms : Hz
alpha_n = ((-0.032/mV)*(Vm - VT - 15.*mV)/(exp((-(Vm - VT - 15.*mV))/(5.*mV)) - 1))/ms : Hz
beta_n  = 0.5*exp(-(Vm - VT - 10.*mV)/(40.*mV))/ms : Hz
`;
export function hhSynthetic(): NeuronModel {
  return new NeuronModel(HH_SYNTHETIC, {
    namespace: {
      C: "200 pF",
      VT: "-60 mV",
      E_Na: "53 mV",
      g_Na: "32 uS",
      E_K: "-107 mV",
      g_K: "1 uS",
      E_l: "-70 mV",
      g_l: "10 nS",
      I1: "0.1 nA",
      I2: "0.5 nA",
      t_on: "100 ms",
      t_off: "900 ms",
    },
    threshold: "m > 0.5",
    refractory: "m > 0.5",
    method: "exponential_euler",
  });
}
